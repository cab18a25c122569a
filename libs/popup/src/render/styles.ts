/*
 * The popup's stylesheet, inside its shadow root only: the customer's CSS cannot reach in and this
 * cannot leak out. Sizes are in em of the design's base font size. Kept terse: it ships in the
 * script every visitor downloads. Fields are never under 16 px: iOS zooms into those.
 */
export const CSS = `
.o{position:absolute;inset:0;display:flex;padding:12px;box-sizing:border-box;pointer-events:none}
.modal{background:var(--ov);pointer-events:auto}
.bar,.full-screen{padding:0}
.d{position:relative;box-sizing:border-box;width:var(--w);max-width:100%;max-height:100%;overflow:auto;pointer-events:auto;background:var(--bg);color:var(--tx);border-radius:var(--r);padding:1.75em 1.5em 1.5em;box-shadow:0 12px 40px #0003,0 2px 8px #0002;font:400 var(--fs)/1.5 var(--ff);text-align:start;overflow-wrap:anywhere;animation:i .2s ease-out}
.d:focus{outline:0}
.bar .d{width:100%;padding:.75em 3em .75em 1em;box-shadow:0 2px 12px #0003}
.full-screen .d{width:100%;height:100%;display:flex;box-shadow:none}
.full-screen .c{width:var(--w);max-width:100%;margin:auto}
@keyframes i{from{opacity:0;transform:translateY(.5em)}}
@media (prefers-reduced-motion:reduce){.d{animation:none}}
.c{display:flex;flex-direction:column;gap:.75em;margin:0}
.bar .c{flex-flow:row wrap;align-items:center;justify-content:center;gap:.5em 1em}
.bar .c>*{flex:0 1 auto}
.c>:first-child{margin-right:1.5em}.c>img:first-child{margin:.75em 0 0}
h2{margin:0;font-size:1.5em;line-height:1.25;font-weight:700}
.bar h2{font-size:1.125em}
p{margin:0 0 .5em}p:last-child{margin:0}
.s{font-size:.8125em;opacity:.8}
a{color:var(--ac)}
img{display:block;max-width:100%;height:auto;border-radius:calc(var(--r)/2)}
.bar img{max-height:3em}
.f{display:flex;flex-direction:column;gap:.25em}
label{font-size:.875em;font-weight:600}
input,select{box-sizing:border-box;width:100%;margin:0;font:inherit;font-size:max(1em,16px);color:var(--tx);background:var(--bg);border:1px solid #8889;border-radius:var(--cr);padding:.6em .75em;min-height:2.75em}
.k{display:flex;gap:.6em;align-items:flex-start}
.k input{width:1.15em;height:1.15em;min-height:0;margin:.2em 0 0;flex:none;accent-color:var(--ac)}
.k label{font-weight:400}
[aria-invalid=true]{border-color:#d93025;outline:1px solid #d93025}
.e,.m{color:#d93025;font-size:.8125em}
.e:empty,.m:empty{display:none}
.k .e{flex-basis:100%}.k{flex-wrap:wrap}
.h{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.b{display:flex;flex-wrap:wrap;gap:.5em}
.bar .b{flex-wrap:nowrap}
button{font:inherit;cursor:pointer}
.b button{flex:1 1 auto;font-weight:600;padding:.7em 1.25em;min-height:2.75em;border:0;border-radius:var(--cr);background:var(--ac);color:var(--bt)}
.b .g{background:none;color:inherit;box-shadow:inset 0 0 0 1px #8889}
.b button:hover{filter:brightness(1.08)}
button:disabled{opacity:.6;cursor:progress}
:focus-visible{outline:2px solid var(--ac);outline-offset:2px}
.x{position:absolute;top:.3em;right:.3em;width:2em;height:2em;padding:0;border:0;border-radius:50%;background:none;color:inherit;font-size:1.25em;line-height:1;opacity:.65}
.x:focus-visible{outline-offset:-2px}
.x:hover{opacity:1;background:#8882}
.bar .x{top:50%;transform:translateY(-50%)}
.p{position:absolute;top:.5em;left:.5em;font:700 11px/1 system-ui,sans-serif;letter-spacing:.05em;text-transform:uppercase;background:#fbbf24;color:#111;padding:3px 6px;border-radius:4px}
`
