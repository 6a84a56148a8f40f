/* Web chat widget: one script tag embeds it.
 *   <script src="https://bot.example/webhooks/widget/static/widget.js" data-server="https://bot.example"
 *           data-lang="zh"></script>
 * Texts from the bot, agents and customers are rendered with textContent only (never as HTML).
 * The session token lives in localStorage and travels in the Authorization header, also for the
 * event stream (read with fetch, not EventSource, so the token never appears in a URL).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__lcsWidget) { return; }
  window.__lcsWidget = true;

  var MAX_PHOTO_BYTES = 10 * 1024 * 1024;
  var BASE_PATH = "/webhooks/widget";
  var server = (script.getAttribute("data-server") || "").replace(/\/+$/, "");
  if (!server && script.src) {
    try { server = new URL(script.src, location.href).origin; } catch (e) { server = ""; }
  }
  if (server === location.origin) { server = ""; }
  var lang = script.getAttribute("data-lang") || ((navigator.language || "").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
  lang = lang.toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var TEXT = {
    zh: { title: "在线客服", open: "打开在线客服", close: "关闭", placeholder: "输入消息…", send: "发送",
          upload: "上传照片", typing: "客服正在输入…", agent: "人工客服", photo: "[照片]",
          tooBig: "照片太大了（最大 10 MB），请压缩后再发送。", notImage: "请选择图片文件（JPG、PNG 或 WebP）。",
          failed: "网络好像有点问题，消息没有发出去，请稍后再试。", slow: "您发消息太快了，请等 {s} 秒后再发。", welcome: "您好，我是智能客服，可以帮您查快递、登记破损理赔、转人工。" },
    en: { title: "Customer service", open: "Open customer service chat", close: "Close", placeholder: "Type a message…",
          send: "Send", upload: "Upload a photo", typing: "Typing…", agent: "Agent", photo: "[photo]",
          tooBig: "That photo is too large (10 MB at most). Please make it smaller and send it again.",
          notImage: "Please choose an image file (JPG, PNG or WebP).",
          failed: "The message could not be sent (network problem). Please try again in a moment.",
          slow: "You are sending messages too fast. Please wait {s} seconds and send it again.",
          welcome: "Hello! I can track parcels, register damage claims, or put you through to an agent." }
  }[lang];
  var TOKEN_KEY = "lcs-widget-token:" + (server || location.origin);
  var OPEN_KEY = "lcs-widget-open:" + (server || location.origin);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = server + BASE_PATH + "/static/widget.css";
  document.head.appendChild(css);

  var root = el("div", "lcs-widget");
  root.id = "lcs-widget";
  root.lang = lang === "zh" ? "zh-CN" : "en";
  var bubble = el("button", "lcs-bubble", lang === "zh" ? "客服" : "Chat");
  bubble.id = "lcs-bubble";
  bubble.type = "button";
  bubble.setAttribute("aria-label", TEXT.open);
  var panel = el("section", "lcs-panel");
  panel.id = "lcs-panel";
  panel.hidden = true;
  panel.setAttribute("aria-label", TEXT.title);
  var header = el("div", "lcs-header");
  header.appendChild(el("span", "", TEXT.title));
  var closer = el("button", "lcs-close", "×");
  closer.type = "button";
  closer.setAttribute("aria-label", TEXT.close);
  header.appendChild(closer);
  var log = el("div", "lcs-log");
  log.id = "lcs-log";
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "lcs-typing", TEXT.typing);
  typing.id = "lcs-typing";
  typing.hidden = true;
  var form = el("form", "lcs-form");
  var file = el("input", "lcs-file");
  file.id = "lcs-file";
  file.type = "file";
  file.accept = "image/*";
  file.multiple = true;
  var upload = el("button", "lcs-upload", lang === "zh" ? "图片" : "Photo");
  upload.id = "lcs-upload";
  upload.type = "button";
  upload.title = TEXT.upload;
  upload.setAttribute("aria-label", TEXT.upload);
  var input = el("input", "lcs-input");
  input.id = "lcs-input";
  input.type = "text";
  input.maxLength = 2000;
  input.placeholder = TEXT.placeholder;
  input.autocomplete = "off";
  var sendButton = el("button", "lcs-send", TEXT.send);
  sendButton.id = "lcs-send";
  sendButton.type = "submit";
  form.appendChild(file);
  form.appendChild(upload);
  form.appendChild(input);
  form.appendChild(sendButton);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(bubble);
  document.body.appendChild(root);

  // --- rendering (textContent only) ---------------------------------------------------------------
  function scroll() { log.scrollTop = log.scrollHeight; }

  function disableOldButtons() {
    var rows = log.querySelectorAll(".lcs-buttons button");
    for (var i = 0; i < rows.length; i++) { rows[i].disabled = true; }
  }

  function show(message, live) {
    var from = message.from === "agent" ? "agent" : (message.from === "customer" ? "customer" : "bot");
    if (from !== "customer") { disableOldButtons(); }
    var box = el("div", "lcs-msg lcs-" + from);
    if (from === "agent") {
      box.appendChild(el("span", "lcs-who", TEXT.agent + (message.agent ? " · " + message.agent : "")));
    }
    var text = message.text || "";
    if (from === "customer" && !text && message.photos) { text = TEXT.photo + (message.photos > 1 ? " ×" + message.photos : ""); }
    box.appendChild(el("span", "lcs-text", text));
    if (message.thumbnail) {
      var img = el("img");
      img.alt = TEXT.photo;
      img.src = message.thumbnail;
      box.appendChild(img);
    }
    log.appendChild(box);
    var buttons = message.buttons || [];
    if (buttons.length && live !== false) {
      var row = el("div", "lcs-buttons");
      buttons.forEach(function (button) {
        var b = el("button", "", button.title || button.payload);
        b.type = "button";
        b.addEventListener("click", function () { disableOldButtons(); send(button.payload, []); });
        row.appendChild(b);
      });
      log.appendChild(row);
    }
    scroll();
  }

  function system(text) { log.appendChild(el("div", "lcs-msg lcs-system", text)); scroll(); }

  // --- HTTP ---------------------------------------------------------------------------------------
  var token = null;
  try { token = localStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }

  function newSession() {
    return fetch(server + BASE_PATH + "/session", { method: "POST", credentials: "omit" })
      .then(function (r) { if (!r.ok) { throw new Error("session " + r.status); } return r.json(); })
      .then(function (body) {
        token = body.token;
        try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: this page only */ }
        return token;
      });
  }

  function ensureToken() { return token ? Promise.resolve(token) : newSession(); }

  function api(path, options, retried) {
    return ensureToken().then(function (t) {
      var opts = options || {};
      var headers = { "Authorization": "Bearer " + t };
      if (opts.body) { headers["Content-Type"] = "application/json"; }
      return fetch(server + BASE_PATH + path, { method: opts.method || "GET", headers: headers, body: opts.body,
                                                credentials: "omit" });
    }).then(function (r) {
      if (r.status === 401 && !retried) {  // the server no longer knows this token: start over
        token = null;
        try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
        return api(path, options, true);
      }
      return r;
    });
  }

  // one message at a time, in order
  var chain = Promise.resolve();
  var waiting = 0;

  function setTyping(on) {
    waiting += on ? 1 : -1;
    typing.hidden = waiting <= 0;
    if (!typing.hidden) { scroll(); }
  }

  function send(text, attachments, thumbnails) {
    if (!text && !attachments.length) { return; }
    if (text) { show({ from: "customer", text: text }); }
    (thumbnails || []).forEach(function (src) { show({ from: "customer", text: TEXT.photo, thumbnail: src }); });
    setTyping(true);
    chain = chain.then(function () {
      return api("/message", { method: "POST", body: JSON.stringify({ text: text, attachments: attachments }) })
        .then(function (r) {
          return r.json().then(function (body) {
            if (r.status === 429) {  // rate limit: say how long to wait, in the customer's language
              system(TEXT.slow.replace("{s}", String((body && body.retry_after) || r.headers.get("Retry-After") || 60)));
              return;
            }
            if (r.status === 413) { system(TEXT.tooBig); return; }
            if (!r.ok) { system(body && body.error ? body.error : TEXT.failed); return; }
            (body.messages || []).forEach(function (m) { show(m); });
          });
        })
        .catch(function () { system(TEXT.failed); })
        .then(function () { setTyping(false); });
    });
  }

  function readPhoto(f) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(f);
    });
  }

  file.addEventListener("change", function () {
    var chosen = Array.prototype.slice.call(file.files || []);
    file.value = "";
    var ok = chosen.filter(function (f) {
      if (f.type && f.type.indexOf("image/") !== 0) { system(TEXT.notImage); return false; }
      if (f.size > MAX_PHOTO_BYTES) { system(TEXT.tooBig); return false; }
      return true;
    });
    if (!ok.length) { return; }
    Promise.all(ok.map(readPhoto)).then(function (urls) {
      var attachments = urls.map(function (url) {
        return { kind: "image", data: url.slice(url.indexOf(",") + 1) };  // the server checks the bytes
      });
      send("", attachments, urls);
    }).catch(function () { system(TEXT.failed); });
  });

  upload.addEventListener("click", function () { file.click(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    input.value = "";
    send(text, []);
  });

  // --- history and live agent messages -----------------------------------------------------------
  var started = false;

  function loadHistory() {
    if (!token) { system(TEXT.welcome); return Promise.resolve(); }
    return api("/history").then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (body) {
        var messages = body.messages || [];
        if (!messages.length) { system(TEXT.welcome); }
        messages.forEach(function (m, i) { show(m, i === messages.length - 1); });
      })
      .catch(function () { system(TEXT.welcome); });
  }

  var backoff = 1000;

  function listen() {
    if (!window.fetch || !window.ReadableStream) { return; }
    api("/events").then(function (r) {
      if (!r.ok || !r.body) { throw new Error("events " + r.status); }
      backoff = 1000;
      var reader = r.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { throw new Error("stream ended"); }
          buffer += decoder.decode(chunk.value, { stream: true });
          var cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            var block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            var data = block.split("\n").filter(function (line) { return line.indexOf("data:") === 0; })
              .map(function (line) { return line.slice(5).replace(/^ /, ""); }).join("\n");
            if (data) {
              try { show(JSON.parse(data)); } catch (e) { /* malformed event: skip */ }
            }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      var wait = backoff + Math.floor(Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(listen, wait);
    });
  }

  function start() {
    if (started) { return; }
    started = true;
    ensureToken().catch(function () { return null; })
      .then(function () { return loadHistory(); })
      .then(listen);
  }

  function setOpen(open) {
    panel.hidden = !open;
    try { localStorage.setItem(OPEN_KEY, open ? "1" : "0"); } catch (e) { /* ignore */ }
    if (open) { start(); input.focus(); }
  }

  bubble.addEventListener("click", function () { setOpen(panel.hidden); });
  closer.addEventListener("click", function () { setOpen(false); });
  var wasOpen = false;
  try { wasOpen = localStorage.getItem(OPEN_KEY) === "1"; } catch (e) { wasOpen = false; }
  if (wasOpen) { setOpen(true); } else if (token) { start(); }
})();
