extension Explorer {
    /// The whole explorer (no external assets: it works offline).
    static let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>blocksmith explorer</title>
<style>
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ee; --accent: #c2590a; --bg: #f7f8fb; --card: #fff; --good: #1f7a3a; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #20242f; color: #fff; padding: 10px 24px; display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
header a.brand { color: #fff; font-weight: 700; font-size: 18px; text-decoration: none; letter-spacing: .3px; display: flex; align-items: center; gap: 8px; }
header nav a { color: #cfd3dc; margin-right: 14px; text-decoration: none; }
header form { flex: 1; display: flex; min-width: 280px; }
header input { flex: 1; padding: 8px 10px; border: 0; border-radius: 6px 0 0 6px; font: inherit; }
header button, .button { padding: 8px 14px; border: 0; background: #f7931a; color: #20242f; font-weight: 600; border-radius: 0 6px 6px 0; cursor: pointer; font: inherit; }
.button { border-radius: 6px; }
main { max-width: 1100px; margin: 20px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 8px 0 14px; word-break: break-all; }
h2 { font-size: 17px; margin: 22px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 14px; }
table { width: 100%; border-collapse: collapse; }
td, th { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; white-space: nowrap; }
.kv th { width: 200px; }
.mono, a.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 13px; word-break: break-all; }
a { color: #1559c5; text-decoration: none; }
a:hover { text-decoration: underline; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.plus { color: var(--good); } .minus { color: var(--bad); }
.muted { color: var(--muted); }
.io { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
@media (max-width: 800px) { .io { grid-template-columns: 1fr; } }
.error { background: #fdecea; border: 1px solid #f5c2bd; color: var(--bad); padding: 12px 14px; border-radius: 8px; }
.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.stat b { display: block; font-size: 20px; }
.stat span { color: var(--muted); font-size: 13px; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #eef1f7; color: var(--muted); font-size: 12px; }
svg text { font-size: 11px; fill: var(--muted); }
.row-form { display: flex; gap: 8px; flex-wrap: wrap; }
.row-form input { flex: 1; min-width: 240px; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
</style>
</head>
<body>
<header>
  <a class="brand" href="/" data-link><svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true"><circle cx="11" cy="11" r="10" fill="#f7931a"/><text x="11" y="15.5" text-anchor="middle" font-size="13" font-weight="700" fill="#fff" font-family="sans-serif">B</text></svg> blocksmith</a>
  <nav><a href="/" data-link>Blocks</a><a href="/stats" data-link>Stats</a></nav>
  <form id="search"><input id="q" name="q" placeholder="Address, transaction id, block hash or height" autocomplete="off" spellcheck="false"><button type="submit">Search</button></form>
</header>
<main id="main"><p class="muted">Loading…</p></main>
<script>
"use strict";
const main = document.getElementById("main");
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const btc = sats => sats == null ? "?" : (sats / 1e8).toLocaleString("en-US", {minimumFractionDigits: 8, maximumFractionDigits: 8}) + " BTC";
const when = t => new Date(t * 1000).toISOString().replace("T", " ").replace(".000Z", " UTC");
const link = (path, text, cls = "mono") => `<a class="${cls}" href="${esc(path)}" data-link>${esc(text)}</a>`;
const addr = a => a ? link("/address/" + encodeURIComponent(a), a) : '<span class="muted">no address</span>';
const kv = rows => `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>`;

class ApiError extends Error {}
async function api(path) {
  const response = await fetch("/api" + path);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError((body && body.error) || ("HTTP " + response.status));
  return body;
}

function go(path) { history.pushState(null, "", path); route(); }
document.addEventListener("click", e => {
  const a = e.target.closest("a[data-link]");
  if (a && !e.ctrlKey && !e.metaKey) { e.preventDefault(); go(a.getAttribute("href")); }
});
window.addEventListener("popstate", route);
document.getElementById("search").addEventListener("submit", async e => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (!q) return;
  try {
    const found = await api("/search/" + encodeURIComponent(q));
    go(found.path);
  } catch (err) { show(`<div class="error">${esc(err.message)}</div>`); }
});

function show(html) { main.innerHTML = html; }

async function route() {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts.length === 0) await home();
    else if (parts[0] === "block" && parts[1]) await blockPage(parts[1], 0);
    else if (parts[0] === "tx" && parts[1]) await txPage(parts[1]);
    else if (parts[0] === "address" && parts[1]) await addressPage(parts[1]);
    else if (parts[0] === "between" && parts[1] && parts[2]) await betweenPage(parts[1], parts[2]);
    else if (parts[0] === "stats") await statsPage();
    else show(`<div class="error">No such page.</div>`);
  } catch (err) {
    show(`<div class="error">${esc(err.message)}</div>`);
  }
}

function blockRows(blocks) {
  return `<table><tr><th>Height</th><th>Hash</th><th>Time</th><th class="num">Transactions</th><th class="num">Size</th></tr>` +
    blocks.map(b => `<tr><td>${link("/block/" + b.height, b.height, "")}</td><td>${link("/block/" + b.id, b.id)}</td><td>${when(b.timestamp)}</td><td class="num">${b.tx_count}</td><td class="num">${b.size.toLocaleString()}</td></tr>`).join("") + `</table>`;
}

async function home() {
  const [stats, blocks] = await Promise.all([api("/stats"), api("/blocks")]);
  show(`<h1>Chain <span class="pill">${esc(stats.network)}</span></h1>
    ${statCards(stats)}
    <div class="card"><h2 style="margin-top:0">From A to B</h2>
      <form id="between" class="row-form"><input id="from" placeholder="Sender address"><input id="to" placeholder="Receiver address"><button class="button">Find transfers</button></form></div>
    <div class="card"><h2 style="margin-top:0">Latest blocks</h2>${blockRows(blocks)}</div>`);
  document.getElementById("between").addEventListener("submit", e => {
    e.preventDefault();
    const a = document.getElementById("from").value.trim(), b = document.getElementById("to").value.trim();
    if (a && b) go("/between/" + encodeURIComponent(a) + "/" + encodeURIComponent(b));
  });
}

function statCards(s) {
  const card = (v, k) => `<div class="card stat"><b>${esc(v)}</b><span>${esc(k)}</span></div>`;
  return `<div class="stats">${card(s.tip_height ?? "–", "tip height")}${card(s.transactions.toLocaleString(), "transactions")}${card(s.addresses.toLocaleString(), "addresses")}${card(s.utxo_count.toLocaleString(), "unspent outputs")}${card(btc(s.utxo_value), "in unspent outputs")}${card(s.stale_blocks, "stale blocks")}</div>`;
}

async function statsPage() {
  const [stats, richest] = await Promise.all([api("/stats"), api("/richest?limit=25")]);
  const types = Object.entries(stats.outputs_by_type).sort((a, b) => b[1] - a[1]);
  show(`<h1>Chain statistics <span class="pill">${esc(stats.network)}</span></h1>${statCards(stats)}
    <div class="card"><h2 style="margin-top:0">Outputs by type</h2><table>${types.map(([t, n]) => `<tr><td>${esc(t)}</td><td class="num">${n.toLocaleString()}</td></tr>`).join("")}</table></div>
    <div class="card"><h2 style="margin-top:0">Richest addresses</h2><table><tr><th>#</th><th>Address</th><th class="num">Balance</th><th class="num">Transactions</th></tr>
    ${richest.map((a, i) => `<tr><td>${i + 1}</td><td>${addr(a.address)}</td><td class="num">${btc(a.balance)}</td><td class="num">${a.tx_count}</td></tr>`).join("")}</table></div>`);
}

async function blockPage(ref, start) {
  const hash = /^[0-9]+$/.test(ref) ? await api("/block-height/" + ref) : ref;
  const [b, status] = await Promise.all([api("/block/" + hash), api("/block/" + hash + "/status")]);
  let txs = [];
  if (status.in_best_chain && start < b.tx_count) txs = await api(`/block/${hash}/txs/${start}`);
  const nav = [b.previousblockhash ? link("/block/" + b.previousblockhash, "← previous", "") : "", status.next_best ? link("/block/" + status.next_best, "next →", "") : ""].filter(Boolean).join(" · ");
  show(`<h1>Block ${esc(b.height ?? "")}</h1>
    <div class="card">${kv([["Hash", `<span class="mono">${esc(b.id)}</span>`], ["Status", status.in_best_chain ? "in the best chain" : "not in the best chain"],
      ["Time", when(b.timestamp)], ["Median time", when(b.mediantime)], ["Transactions", b.tx_count], ["Size", b.size.toLocaleString() + " bytes"],
      ["Weight", b.weight.toLocaleString()], ["Version", "0x" + b.version.toString(16)], ["Bits", b.bits.toString(16)], ["Nonce", b.nonce],
      ["Difficulty", b.difficulty], ["Merkle root", `<span class="mono">${esc(b.merkle_root)}</span>`], ["Chain", nav || "–"]])}</div>
    <h2>Transactions ${txs.length ? `${start + 1}–${start + txs.length} of ${b.tx_count}` : ""}</h2>
    ${txs.map(txCard).join("")}
    <p>${start > 0 ? `<a href="#" id="prev">← earlier</a> ` : ""}${start + 25 < b.tx_count ? `<a href="#" id="more">later →</a>` : ""}</p>`);
  const prev = document.getElementById("prev"), more = document.getElementById("more");
  if (prev) prev.addEventListener("click", e => { e.preventDefault(); blockPage(hash, start - 25); });
  if (more) more.addEventListener("click", e => { e.preventDefault(); blockPage(hash, start + 25); });
}

function txCard(tx, focus) {
  const ins = tx.vin.map(i => i.is_coinbase ? `<tr><td colspan="2"><span class="pill">coinbase</span> <span class="muted">new coins</span></td></tr>` :
    `<tr><td>${i.prevout ? addr(i.prevout.scriptpubkey_address) : '<span class="muted">unknown</span>'}<br>${link("/tx/" + i.txid, i.txid.slice(0, 16) + "…:" + i.vout, "mono muted")}</td><td class="num">${i.prevout ? btc(i.prevout.value) : "?"}</td></tr>`).join("");
  const outs = tx.vout.map((o, n) => `<tr><td>${o.scriptpubkey_address ? addr(o.scriptpubkey_address) : `<span class="pill">${esc(o.scriptpubkey_type)}</span>`}</td><td class="num">${btc(o.value)}</td></tr>`).join("");
  return `<div class="card">${link("/tx/" + tx.txid, tx.txid)} <span class="muted">· fee ${btc(tx.fee)}</span>
    <div class="io"><table><tr><th>Inputs</th><th></th></tr>${ins}</table><table><tr><th>Outputs</th><th></th></tr>${outs}</table></div></div>`;
}

async function txPage(txid) {
  const [tx, spends] = await Promise.all([api("/tx/" + txid), api("/tx/" + txid + "/outspends")]);
  const total = tx.vout.reduce((s, o) => s + o.value, 0);
  const outs = tx.vout.map((o, n) => `<tr><td>${n}</td><td>${o.scriptpubkey_address ? addr(o.scriptpubkey_address) : '<span class="muted">no address</span>'}</td><td><span class="pill">${esc(o.scriptpubkey_type)}</span></td><td class="num">${btc(o.value)}</td><td>${spends[n] && spends[n].spent ? "spent in " + link("/tx/" + spends[n].txid, spends[n].txid.slice(0, 16) + "…") : '<span class="muted">unspent</span>'}</td></tr>`).join("");
  const ins = tx.vin.map((i, n) => i.is_coinbase ? `<tr><td>${n}</td><td colspan="3"><span class="pill">coinbase</span> <span class="mono muted">${esc(i.scriptsig)}</span></td></tr>` :
    `<tr><td>${n}</td><td>${i.prevout ? addr(i.prevout.scriptpubkey_address) : '<span class="muted">unknown</span>'}</td><td>${link("/tx/" + i.txid, i.txid.slice(0, 16) + "…:" + i.vout, "mono")}</td><td class="num">${i.prevout ? btc(i.prevout.value) : "?"}</td></tr>`).join("");
  show(`<h1>Transaction</h1>
    <div class="card">${kv([["Txid", `<span class="mono">${esc(tx.txid)}</span>`], ["Block", link("/block/" + tx.status.block_hash, tx.status.block_height, "") + ` <span class="muted">${when(tx.status.block_time)}</span>`],
      ["Fee", btc(tx.fee)], ["Output total", btc(total)], ["Size", tx.size + " bytes"], ["Weight", tx.weight], ["Version", tx.version], ["Lock time", tx.locktime]])}</div>
    <div class="card"><h2 style="margin-top:0">Inputs (${tx.vin.length})</h2><table><tr><th>#</th><th>Address</th><th>Spends</th><th class="num">Value</th></tr>${ins}</table></div>
    <div class="card"><h2 style="margin-top:0">Outputs (${tx.vout.length})</h2><table><tr><th>#</th><th>Address</th><th>Type</th><th class="num">Value</th><th>Spent</th></tr>${outs}</table></div>`);
}

function chart(points) {
  if (points.length < 2) return '<p class="muted">Not enough history for a chart.</p>';
  const w = 1000, h = 220, pad = 44;
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(...ys, 1);
  const X = x => pad + (x1 === x0 ? 0 : (x - x0) / (x1 - x0)) * (w - 2 * pad), Y = y => h - pad + 10 - (y / y1) * (h - pad - 10);
  let d = "";
  points.forEach((p, i) => { d += (i ? ` H${X(p[0]).toFixed(1)} V${Y(p[1]).toFixed(1)}` : `M${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`); });
  return `<svg id="balance-chart" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="Balance over time">
    <line x1="${pad}" y1="${h - pad + 10}" x2="${w - pad}" y2="${h - pad + 10}" stroke="#ccd"/><line x1="${pad}" y1="10" x2="${pad}" y2="${h - pad + 10}" stroke="#ccd"/>
    <path d="${d}" fill="none" stroke="#f7931a" stroke-width="2"/>
    <text x="${pad}" y="${h - 12}">height ${x0}</text><text x="${w - pad}" y="${h - 12}" text-anchor="end">height ${x1}</text>
    <text x="${pad + 4}" y="20">${esc(btc(y1))}</text></svg>`;
}

async function addressPage(a) {
  const [info, balance, recent] = await Promise.all([api("/address/" + encodeURIComponent(a)), api("/address/" + encodeURIComponent(a) + "/balance"), api("/address/" + encodeURIComponent(a) + "/history?limit=1000")]);
  const s = info.chain_stats;
  // Balance after each transaction, walking back from the current balance.
  let running = balance.balance;
  const points = [];
  for (const item of recent.items) { points.push([item.height, running]); running -= item.delta; }
  points.reverse();
  show(`<h1>Address <span class="mono" id="address">${esc(a)}</span></h1>
    <div class="card">${kv([["Balance", `<b id="balance">${btc(balance.balance)}</b>`], ["Transactions", s.tx_count], ["Received", `${btc(s.funded_txo_sum)} <span class="muted">in ${s.funded_txo_count} outputs</span>`],
      ["Sent", `${btc(s.spent_txo_sum)} <span class="muted">from ${s.spent_txo_count} outputs</span>`]])}</div>
    <div class="card"><h2 style="margin-top:0">Balance over time${recent.next_cursor ? " (latest 1,000 transactions)" : ""}</h2>${chart(points)}</div>
    <div class="card"><h2 style="margin-top:0">History</h2><table id="history"><tr><th>Transaction</th><th>Block</th><th class="num">Change</th></tr></table>
    <p><a href="#" id="older" hidden>older →</a></p></div>`);
  let cursor = null;
  async function page() {
    const result = await api("/address/" + encodeURIComponent(a) + "/history?limit=25" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    const table = document.getElementById("history");
    for (const item of result.items) {
      const row = table.insertRow();
      row.innerHTML = `<td>${link("/tx/" + item.txid, item.txid)}</td><td>${link("/block/" + item.height, item.height, "")}</td><td class="num ${item.delta >= 0 ? "plus" : "minus"}">${item.delta >= 0 ? "+" : ""}${btc(item.delta)}</td>`;
    }
    cursor = result.next_cursor;
    document.getElementById("older").hidden = !cursor;
  }
  document.getElementById("older").addEventListener("click", e => { e.preventDefault(); page(); });
  await page();
}

async function betweenPage(a, b) {
  const both = new URLSearchParams(location.search).get("both_ways") === "true";
  show(`<h1>From ${addr(a)} to ${addr(b)}</h1>
    <p><label><input type="checkbox" id="both" ${both ? "checked" : ""}> both directions</label></p>
    <div class="card"><table id="transfers"><tr><th>Transaction</th><th>Block</th><th>From</th><th>To</th><th class="num">Amount</th></tr></table>
    <p id="none" class="muted" hidden>No transfers.</p><p><a href="#" id="more" hidden>more →</a></p></div>`);
  document.getElementById("both").addEventListener("change", e => go(location.pathname + (e.target.checked ? "?both_ways=true" : "")));
  let cursor = null, count = 0;
  async function page() {
    const result = await api(`/between/${encodeURIComponent(a)}/${encodeURIComponent(b)}?limit=50&both_ways=${both}` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    const table = document.getElementById("transfers");
    for (const item of result.items) {
      const row = table.insertRow();
      row.innerHTML = `<td>${link("/tx/" + item.txid, item.txid)}</td><td>${link("/block/" + item.height, item.height, "")}</td><td>${addr(item.from)}</td><td>${addr(item.to)}</td><td class="num">${btc(item.amount)}</td>`;
    }
    count += result.items.length;
    document.getElementById("none").hidden = count > 0;
    cursor = result.next_cursor;
    document.getElementById("more").hidden = !cursor;
  }
  document.getElementById("more").addEventListener("click", e => { e.preventDefault(); page(); });
  await page();
}

route();
</script>
</body>
</html>
"""#
}
