/**
 * The status page at `/` for browsers: what this mirror is, how to point clients at it,
 * and live figures from `/-/stats` (refreshed every few seconds). One self-contained
 * document: inline CSS and JS under a nonce-based Content-Security-Policy that allows
 * nothing from other hosts (closed networks are common). Data reaches the DOM through
 * `textContent` only, never as markup (repository names come from clients).
 */
import type { SetupSnippet } from './client-setup.js';

export interface StatusPageInput {
  publicUrl: URL;
  registries: string[];
  snippets: SetupSnippet[];
  /** The first figures, so the page is complete before its first refresh. */
  initial: unknown;
  nonce: string;
  refreshSeconds: number;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON inside a <script> element: `<` escaped so no string can close the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

export function statusPageCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5b6475;--bg:#f6f7f9;--card:#fff;--line:#dde1e8;--cache:#1f7a4d;--up:#b35c00;--accent:#2457c5}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#a3abba;--bg:#14171c;--card:#1d2128;--line:#333a45;--cache:#4cc38a;--up:#f0a050;--accent:#7aa2ff}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1040px;margin:0 auto;padding:24px 20px 48px}h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:32px 0 12px}
p{margin:0 0 8px}.muted{color:var(--muted)}code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card dt{color:var(--muted);font-size:.85rem}.card dd{margin:4px 0 0;font-size:1.5rem;font-weight:600;font-variant-numeric:tabular-nums}
.card dd small{font-size:.8rem;font-weight:400;color:var(--muted);display:block}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
figcaption{display:flex;gap:16px;flex-wrap:wrap;font-size:.85rem;color:var(--muted);margin-bottom:8px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}.key.cache{background:var(--cache)}.key.up{background:var(--up)}.after{margin-top:12px}
svg{display:block;width:100%;height:160px}.bar-cache{fill:var(--cache)}.bar-up{fill:var(--up)}.axis{stroke:var(--line)}
.ticks{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem;margin-top:4px}.status{margin-left:auto}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:8px 12px;border-bottom:1px solid var(--line);font-size:.9rem}th{color:var(--muted);font-weight:500}
td.image{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.snippets{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.snippet{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;display:flex;flex-direction:column}
.snippet h3{font-size:1rem;margin:0}.snippet code{overflow-wrap:anywhere}.snippet pre{flex:1;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;margin:8px 0}
button{font:inherit;font-size:.85rem;align-self:flex-start;padding:4px 12px;border-radius:6px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}
button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}.status{font-size:.8rem}
`;

/** Renders figures from a `/-/stats` answer; re-run on every refresh. */
const SCRIPT = `
(function(){
'use strict';
var data=JSON.parse(document.getElementById('initial').textContent);
var refresh=Number(document.body.dataset.refresh)*1000;
function bytes(n){var u=['B','KiB','MiB','GiB','TiB'],i=0;while(n>=1024&&i<u.length-1){n/=1024;i++}return (i?n.toFixed(n<10?1:0):String(n))+' '+u[i]}
function set(id,text){document.getElementById(id).textContent=text}
function ago(ms){var s=Math.max(0,Math.round(ms/1000));return s<60?s+' s ago':s<3600?Math.round(s/60)+' min ago':Math.round(s/3600)+' h ago'}
var NS='http://www.w3.org/2000/svg';
function el(name,attrs,text){var e=document.createElementNS(NS,name);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text)e.textContent=text;return e}
function chart(series){
  var svg=document.getElementById('chart');while(svg.firstChild)svg.removeChild(svg.firstChild);
  var W=600,H=160,top=4,bottom=1,left=0,plot=H-top-bottom,bw=W/series.length;
  var max=0,total=0,active=0;series.forEach(function(b){var t=b.cacheBytes+b.upstreamBytes;if(t>max)max=t;total+=t;if(t>0)active++});
  svg.appendChild(el('line',{x1:0,x2:W,y1:top+plot,y2:top+plot,'class':'axis'}));
  series.forEach(function(b,i){
    var x=left+i*bw,hc=max?b.cacheBytes/max*plot:0,hu=max?b.upstreamBytes/max*plot:0;
    if(hu>0){var r=el('rect',{x:x,y:top+plot-hu,width:Math.max(1,bw-2),height:hu,'class':'bar-up'});r.appendChild(el('title',{},new Date(b.t).toLocaleTimeString()+': '+bytes(b.upstreamBytes)+' fetched upstream'));svg.appendChild(r)}
    if(hc>0){var c=el('rect',{x:x,y:top+plot-hu-hc,width:Math.max(1,bw-2),height:hc,'class':'bar-cache'});c.appendChild(el('title',{},new Date(b.t).toLocaleTimeString()+': '+bytes(b.cacheBytes)+' from the cache'));svg.appendChild(c)}
  });
  set('peak',max?'peak '+bytes(max)+' a minute':'no traffic yet');
  svg.setAttribute('aria-label','Traffic per minute over the last hour: '+bytes(total)+' in '+active+' active minutes, peak '+bytes(max)+' per minute');
  svg.dataset.activeMinutes=String(active);
}
function render(d){
  var t=d.totals;
  set('hit-ratio',t.hitRatio===null?'–':(t.hitRatio*100).toFixed(1)+' %');
  set('hit-detail',t.hits+' of '+t.requests+' answers from the cache');
  set('cache-bytes',bytes(t.cacheBytes));
  set('upstream-bytes',bytes(t.upstreamBytes));
  set('fills',String(d.fills.active));
  set('fill-detail',d.fills.readers+' clients reading');
  set('quota',d.quota.length?d.quota.map(function(q){return q.remaining}).join(' / '):'–');
  set('quota-detail',d.quota.length?d.quota.map(function(q){return q.registry+(q.account==='last-seen'?'':' '+q.account)}).join(', '):'no upstream reported one yet');
  chart(d.series);
  var pulls=document.getElementById('pulls');
  if(d.recentPulls){
    var body=document.getElementById('pull-rows');while(body.firstChild)body.removeChild(body.firstChild);
    if(!d.recentPulls.length){var tr=document.createElement('tr'),td=document.createElement('td');td.colSpan=3;td.textContent='No pulls yet.';tr.appendChild(td);body.appendChild(tr)}
    d.recentPulls.forEach(function(p){
      var tr=document.createElement('tr');
      var ref=p.reference.indexOf(':')>=0?'@'+p.reference.slice(0,19)+'…':':'+p.reference;
      [ago(d.now-p.at),p.registry+'/'+p.repository+ref,p.outcome].forEach(function(text,i){var td=document.createElement('td');td.textContent=text;if(i===1)td.className='image';tr.appendChild(td)});
      body.appendChild(tr);
    });
  } else pulls.hidden=true;
  set('updated','Updated '+new Date(d.now).toLocaleTimeString());
}
function poll(){fetch('/-/stats',{headers:{accept:'application/json'},cache:'no-store'}).then(function(r){if(!r.ok)throw new Error(String(r.status));return r.json()}).then(function(d){render(d)}).catch(function(e){set('updated','Could not refresh ('+e.message+')')}).then(function(){setTimeout(poll,refresh)})}
render(data);setTimeout(poll,refresh);
document.querySelectorAll('button[data-copy]').forEach(function(b){b.addEventListener('click',function(){
  var text=document.getElementById(b.dataset.copy).textContent;
  var done=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)};
  if(navigator.clipboard&&window.isSecureContext)navigator.clipboard.writeText(text).then(done,function(){});
  else{var r=document.createRange();r.selectNodeContents(document.getElementById(b.dataset.copy));var s=getSelection();s.removeAllRanges();s.addRange(r);b.textContent='Selected: press Ctrl+C'}
})});
})();
`;

function card(id: string, label: string, detailId?: string): string {
  return `<div class="card"><dt>${label}</dt><dd><span id="${id}">–</span>${detailId ? `<small id="${detailId}"></small>` : ''}</dd></div>`;
}

export function renderStatusPage(input: StatusPageInput): string {
  const host = escapeHtml(input.publicUrl.host);
  const snippets = input.snippets
    .map(
      (s) =>
        `<section class="snippet" aria-labelledby="t-${s.id}"><h3 id="t-${s.id}">${escapeHtml(s.title)}</h3><p class="muted"><code>${escapeHtml(s.path)}</code></p>` +
        `<pre id="snippet-${s.id}">${escapeHtml(s.text)}</pre><button type="button" data-copy="snippet-${s.id}">Copy</button></section>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Docxy mirror · ${host}</title><link rel="icon" href="data:,"><style nonce="${input.nonce}">${STYLE}</style></head>
<body data-refresh="${input.refreshSeconds}"><main>
<header><h1>Docxy registry mirror</h1>
<p class="muted"><code>${escapeHtml(input.publicUrl.href)}</code> keeps a verified cache of what it pulls from ${escapeHtml(input.registries.join(', '))}: a layer fetched once is served from here to everyone after.</p></header>
<h2>Right now</h2>
<dl class="cards">${card('hit-ratio', 'Cache hit ratio', 'hit-detail')}${card('cache-bytes', 'Served from the cache')}${card('upstream-bytes', 'Fetched upstream')}${card('quota', 'Upstream pulls left', 'quota-detail')}${card('fills', 'Downloads running', 'fill-detail')}</dl>
<h2 id="traffic-title">Last hour</h2>
<figure aria-labelledby="traffic-title"><figcaption><span><span class="key cache"></span>from the cache</span><span><span class="key up"></span>fetched upstream</span><span id="peak"></span><span class="status" id="updated" aria-live="polite"></span></figcaption>
<svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="Traffic per minute over the last hour"></svg>
<div class="ticks" aria-hidden="true"><span>60 min ago</span><span>now</span></div></figure>
<section id="pulls" aria-labelledby="pulls-title"><h2 id="pulls-title">Recent pulls</h2>
<table><thead><tr><th scope="col">When</th><th scope="col">Image</th><th scope="col">Cache</th></tr></thead><tbody id="pull-rows"></tbody></table></section>
<h2>Use this mirror</h2>
<div class="snippets">${snippets}</div>
<p class="muted after">Or pull by name: <code>docker pull ${host}/library/alpine</code>. Other registries: <code>docker pull ${host}/ghcr.io/owner/image</code>, or a <code>hosts.toml</code> under <code>certs.d/&lt;registry&gt;/</code>.</p>
<noscript><p>Live figures need JavaScript; the setup above does not.</p></noscript>
</main>
<script type="application/json" id="initial">${scriptJson(input.initial)}</script>
<script nonce="${input.nonce}">${SCRIPT}</script>
</body></html>`;
}
