/** The admin page's stylesheet: system fonts, readable table, visible focus, light and dark. */
export const ADMIN_STYLE = `
:root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --accent: #2b6cb0; --danger: #b42318; --line: color-mix(in srgb, CanvasText 15%, transparent); }
body { margin: 0; background: Canvas; color: CanvasText; }
header { padding: 1.5rem 2rem 0.5rem; }
h1 { margin: 0; font-size: 1.5rem; }
.sub { margin: .35rem 0 0; opacity: .75; }
main { padding: 0 2rem 2rem; }
form { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: 1rem 0; }
form label { font-weight: 600; }
form label.inline { font-weight: 400; margin-left: auto; }
input[type=search] { padding: .45rem .6rem; font-size: 1rem; border: 1px solid #8a8a8a; border-radius: 6px; min-width: 14rem; }
button { font: inherit; padding: .4rem .8rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: transparent; color: var(--danger); border-color: var(--danger); }
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#status { min-height: 1.4em; margin: .25rem 0 .75rem; }
#status.error { color: var(--danger); font-weight: 600; }
#signin a { font-weight: 600; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .55rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { position: sticky; top: 0; background: color-mix(in srgb, CanvasText 5%, Canvas); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
tbody tr:last-child td { border-bottom: 0; }
tr.current { background: color-mix(in srgb, var(--accent) 10%, Canvas); }
.badge { display: inline-block; margin-left: .4rem; padding: .05rem .45rem; border-radius: 999px; background: var(--accent); color: #fff; font-size: .75rem; font-weight: 600; }
.muted { opacity: .7; font-size: .85rem; }
td.actions { white-space: nowrap; text-align: right; }
td.actions button + button { margin-left: .4rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`
