import type { IncomingHttpHeaders } from 'node:http'
import { BlockList, isIPv4, isIPv6 } from 'node:net'

/**
 * `trusted_proxies`: the peers whose X-Forwarded-* and forward-auth headers describe the real
 * client and the original request. From anyone else those headers are client-made and ignored.
 */
export interface TrustedProxies {
  /** Whether the peer address (IPv4, IPv6 or IPv4-mapped IPv6) is in one of the CIDRs. */
  trusts(ip: string | undefined): boolean
  /**
   * The client as a trusted proxy chain reports it: the right-most X-Forwarded-For address that is
   * not itself a trusted proxy (left-most when all are), the first X-Forwarded-Proto and -Host.
   * From an untrusted peer: the peer itself, `protocol` as the socket's and the Host header.
   */
  client(peer: string, headers: IncomingHttpHeaders, socketProtocol: 'http' | 'https'): ForwardedClient
}

export interface ForwardedClient {
  readonly ip: string
  readonly protocol: string
  readonly host: string | undefined
  /** Whether the peer is a trusted proxy (its forwarding headers were believed). */
  readonly viaTrustedProxy: boolean
}

/** Forwarding headers that only a trusted proxy may send (removed from other peers' requests at the edge). */
export const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-method', 'x-forwarded-uri', 'x-original-url', 'x-original-uri', 'x-original-method', 'forwarded'] as const

/** Parses `10.0.0.0/8`, `::1/128` or a bare address; null when it is not a CIDR. */
export function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const slash = text.indexOf('/')
  const address = (slash === -1 ? text : text.slice(0, slash)).trim()
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null
  if (!type) return null
  const max = type === 'ipv4' ? 32 : 128
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1).trim()
  if (!/^\d{1,3}$/.test(prefixText)) return null
  const prefix = Number(prefixText)
  return prefix <= max ? { address, prefix, type } : null
}

/** An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, how dual-stack sockets report IPv4 peers) as IPv4. */
function unmapped(ip: string): string {
  return ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7)) ? ip.slice(7) : ip
}

/** Distinct peer addresses whose trust is remembered. */
const KNOWN_PEERS_MAX = 4096

export function createTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr)
    if (!parsed) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`)
    list.addSubnet(parsed.address, parsed.prefix, parsed.type)
  }
  const empty = cidrs.length === 0
  const check = (ip: string): boolean => {
    const address = unmapped(ip)
    if (isIPv4(address)) return list.check(address, 'ipv4')
    return isIPv6(address) && list.check(address, 'ipv6')
  }
  // BlockList.check builds a SocketAddress per call (~7 % of the forward-auth profile); a proxy in
  // front means few distinct peers, so answers are remembered (bounded: cleared when full).
  const known = new Map<string, boolean>()
  const trusts = (ip: string | undefined): boolean => {
    if (empty || !ip) return false
    let trusted = known.get(ip)
    if (trusted === undefined) {
      trusted = check(ip)
      if (known.size >= KNOWN_PEERS_MAX) known.clear()
      known.set(ip, trusted)
    }
    return trusted
  }

  return {
    trusts,
    client(peer, headers, socketProtocol) {
      if (!trusts(peer)) return { ip: peer, protocol: socketProtocol, host: single(headers.host), viaTrustedProxy: false }
      let ip = peer
      const chain = listOf(headers['x-forwarded-for'])
      // Walk back from the nearest hop: the first address not a trusted proxy is the client.
      for (let i = chain.length - 1; i >= 0; i--) {
        const hop = chain[i]!
        if (!isIPv4(unmapped(hop)) && !isIPv6(hop)) break
        ip = hop
        if (!trusts(hop)) break
      }
      const proto = listOf(headers['x-forwarded-proto'])[0]?.toLowerCase()
      const host = listOf(headers['x-forwarded-host'])[0]
      return {
        ip,
        protocol: proto === 'https' || proto === 'http' ? proto : socketProtocol,
        host: host && validHost(host) ? host : single(headers.host),
        viaTrustedProxy: true,
      }
    },
  }
}

/** The protocol the request arrived on at this server: https on a TLS listener. */
export function socketProtocol(socket: object): 'http' | 'https' {
  return (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
}

/** A comma-separated header (possibly sent several times) as its trimmed, non-empty items. */
function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(',') : value
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** host, host:port or [v6]:port; nothing that could break out of a URL authority. */
export function validHost(host: string): boolean {
  return host.length <= 255 && /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(host)
}
