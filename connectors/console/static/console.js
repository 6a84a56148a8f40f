"use strict";
// Agent console. Everything a customer wrote is shown with textContent, never innerHTML.
const base = "/webhooks/console";
const csrf = document.querySelector('meta[name="csrf"]')?.content || "";
const page = document.body.dataset.page;
const role = document.querySelector('meta[name="role"]')?.content || "agent";

function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
async function api(path, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)};
  const res = await fetch(base + path, Object.assign({credentials: "same-origin"}, opts));
  if (res.status === 401) { location.href = base + "/login"; return null; }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
function minutes(s) { return Math.floor(s / 60) + " 分 " + (s % 60) + " 秒"; }
const slaMinutes = {1: 5, 2: 15, 3: 30};

function row(entry, withClaim, withAgent) {
  const tr = el("tr");
  const lvl = el("td"); lvl.append(el("span", "L" + entry.level, "badge l" + entry.level)); tr.append(lvl);
  const link = el("a", entry.conversation_id); link.href = base + "/chat/" + encodeURIComponent(entry.conversation_id);
  const who = el("td"); who.append(link, el("div", entry.channel + " · " + entry.ticket_id, "who")); tr.append(who);
  tr.append(el("td", entry.reason));
  const mood = el("td"); mood.append(el("span", entry.anger.toFixed(2), "badge " + (entry.anger >= 0.6 ? "angry" : "calm"))); tr.append(mood);
  tr.append(el("td", minutes(entry.waiting_seconds)));
  if (withClaim) {
    const left = slaMinutes[entry.level] * 60 - entry.waiting_seconds;
    tr.append(el("td", left >= 0 ? "剩余 " + minutes(left) : "已超时 " + minutes(-left), left >= 0 ? "" : "overdue"));
    const td = el("td"); const b = el("button", "接手 Take"); b.className = "claim";
    b.onclick = async () => { try { await api("/api/chat/" + encodeURIComponent(entry.conversation_id) + "/claim", {}); location.href = link.href; } catch (e) { alert(e.message); loadQueue(); } };
    td.append(b); tr.append(td);
  } else { tr.append(el("td", withAgent ? entry.agent || "" : "")); }
  return tr;
}
async function loadQueue() {
  const data = await api("/api/queue"); if (!data) return;
  const w = document.querySelector("#waiting tbody"), m = document.querySelector("#mine tbody");
  w.replaceChildren(...data.waiting.map(e => row(e, true))); m.replaceChildren(...data.mine.map(e => row(e, false)));
  if (data.others) {
    document.getElementById("others-box").hidden = false;
    document.querySelector("#others tbody").replaceChildren(...data.others.map(e => row(e, false, true)));
  }
}

const cid = document.querySelector('meta[name="conversation"]')?.content;
function say(msg) { document.getElementById("status").textContent = msg; }
function addMessage(m) {
  const box = el("div", undefined, "msg " + m.author);
  box.append(el("div", (m.author === "agent" ? "客服 " + (m.agent || "") : m.author === "bot" ? "机器人" : "客户") + " · " + new Date(m.at).toLocaleTimeString(), "who"), el("div", m.text));
  const t = document.getElementById("transcript"); t.append(box); t.scrollTop = t.scrollHeight;
}
async function loadChat() {
  let data;
  try { data = await api("/api/chat/" + encodeURIComponent(cid)); } catch (e) { say(e.message); return; }
  if (data) showChat(data);
}
async function reveal() {
  // an explicit, recorded request (POST with the CSRF token): the full numbers for this view only
  try { const data = await api("/api/chat/" + encodeURIComponent(cid) + "/reveal", {}); if (data) { showChat(data); say("号码已显示（已记录） Phones shown (recorded)"); } } catch (e) { say(e.message); }
}
function showChat(data) {
  document.getElementById("title").textContent = cid + (data.paused ? " · 人工处理中" : " · 机器人接待中");
  document.getElementById("summary").textContent = (data.handoff && data.handoff.summary) || (data.queue && data.queue.summary) || "—";
  document.getElementById("tracking").textContent = data.tracking || "—";
  const tickets = document.getElementById("tickets"); tickets.replaceChildren();
  const photos = document.getElementById("photos"); photos.replaceChildren();
  for (const t of data.tickets) {
    tickets.append(el("div", t.id + " · " + t.type + " · L" + t.level + " · " + t.status + (t.decision ? " · " + t.decision.kind + " " + t.decision.amount : "")));
    for (const e of t.evidence) { const img = el("img"); img.alt = e.kind; img.src = base + "/api/chat/" + encodeURIComponent(cid) + "/evidence/" + e.sha256; photos.append(img); }
  }
  document.getElementById("transcript").replaceChildren(); data.transcript.forEach(addMessage);
}
async function act(verb, body) { try { await api("/api/chat/" + encodeURIComponent(cid) + "/" + verb, body); say("OK: " + verb); return true; } catch (e) { say(e.message); return false; } }

function live(onEvent) {
  const source = new EventSource(base + "/api/events");
  source.onmessage = (msg) => { try { onEvent(JSON.parse(msg.data)); } catch (e) { /* ignore malformed */ } };
  source.onerror = () => { source.close(); setTimeout(() => live(onEvent), 3000); };
}

async function loadAudit() {
  const q = new URLSearchParams();
  const c = document.getElementById("filter-conversation").value.trim(), a = document.getElementById("filter-agent").value.trim();
  if (c) q.set("conversation", c); if (a) q.set("agent", a);
  let data;
  try { data = await api("/api/audit?" + q.toString()); } catch (e) { say(e.message); return; }
  if (!data) return;
  document.querySelector("#audit tbody").replaceChildren(...data.rows.map(r => {
    const tr = el("tr");
    [new Date(r.at).toLocaleString(), r.agent, r.role, r.kind, r.conversation_id, r.detail || ""].forEach(v => tr.append(el("td", v)));
    return tr;
  }));
}

if (page === "queue") {
  if (role === "supervisor") document.getElementById("audit-link").hidden = false;
  loadQueue(); live(ev => { if (ev.type === "queue") loadQueue(); }); setInterval(loadQueue, 15000);
} else if (page === "chat") {
  loadChat();
  live(ev => { if (ev.conversation_id !== cid) return; if (ev.type === "message") addMessage(ev); else loadChat(); });
  document.getElementById("claim").onclick = async () => { if (await act("claim", {})) loadChat(); };
  document.getElementById("reveal").onclick = reveal;
  document.getElementById("send").onclick = async () => { const box = document.getElementById("reply"); if (await act("reply", {text: box.value})) box.value = ""; };
  document.getElementById("transfer").onclick = () => act("transfer", {to: document.getElementById("transfer-to").value});
  document.getElementById("handback").onclick = () => act("handback", {});
  document.getElementById("close").onclick = () => act("close", {resolution: document.getElementById("resolution").value});
}
else if (page === "audit") {
  loadAudit(); document.getElementById("filter").onclick = loadAudit;
}
const logout = document.getElementById("logout");
if (logout) logout.onclick = async () => { await api("/logout", {}); location.href = base + "/login"; };
