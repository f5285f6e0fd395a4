// burst dashboard: live refresh, actions, forms and log follow.
// Plain ES2020, no framework, no inline handlers: it works under a
// Content-Security-Policy of script-src 'self'.
(() => {
  'use strict';

  const live = document.getElementById('live');
  const flash = document.getElementById('flash');
  const csrf = () => document.querySelector('meta[name="csrf"]')?.content || '';

  // ---- Messages -------------------------------------------------------

  let flashTimer = 0;
  // say shows a message in #flash: kind "ok" fades after a while, "error"
  // stays until the next message or a click on it.
  function say(text, kind) {
    if (!flash) return;
    clearTimeout(flashTimer);
    flash.className = kind || '';
    flash.textContent = text;
    if (kind !== 'error') {
      flashTimer = setTimeout(() => { flash.textContent = ''; flash.className = ''; }, 4000);
    }
  }
  flash?.addEventListener('click', () => { flash.textContent = ''; flash.className = ''; });

  // send makes an API request with the session's CSRF token; it throws an
  // Error with the server's own message (its JSON "error") on a non-2xx.
  async function send(method, url, body) {
    const res = await fetch(url, {
      method,
      headers: { 'X-CSRF-Token': csrf(), 'Content-Type': 'application/json', 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) {
      let msg = '';
      try { msg = (await res.json()).error || ''; } catch { /* not JSON */ }
      throw new Error(msg || `${res.status} ${res.statusText}`.trim());
    }
    return res;
  }

  // ---- Live refresh ---------------------------------------------------
  // On each "change" event, fetch this page's fragment and put it in
  // #live: at most once every 500 ms, events arriving meanwhile coalesced,
  // one more fetch after one in flight; never while someone types.

  const GAP = 500;
  let inFlight = false, again = false, timer = 0, last = 0, deferred = false;

  const typing = () => {
    const a = document.activeElement;
    return !!(a && live && live.contains(a) && a.closest('form') &&
      a.matches('input:not([type=submit]):not([type=button]):not([type=hidden]), textarea, select, [contenteditable]'));
  };

  function refresh() {
    if (!live) return;
    if (inFlight) { again = true; return; }
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + GAP - Date.now()));
  }

  async function run() {
    timer = 0;
    if (typing()) { deferred = true; return; }
    inFlight = true;
    last = Date.now();
    try {
      const u = new URL(location.href);
      u.searchParams.set('fragment', '1');
      const res = await fetch(u.pathname + u.search, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } });
      if (res.status === 401 || (res.redirected && new URL(res.url).pathname === '/ui/login')) {
        location.reload(); // signed out: the server sends us to sign in
        return;
      }
      if (!res.ok) return;
      const html = await res.text();
      if (typing()) { deferred = true; return; }
      swap(html);
      const now = Date.now();
      document.body.dataset.updated = String(now);
      const t = document.getElementById('updated');
      if (t) { const d = new Date(now); t.dateTime = d.toISOString(); t.textContent = d.toLocaleString(); }
    } catch {
      // A network hiccup: the next change event tries again.
    } finally {
      inFlight = false;
      if (again) { again = false; refresh(); }
    }
  }

  // After typing, refresh if a change came meanwhile.
  live?.addEventListener('focusout', () => {
    if (!deferred) return;
    setTimeout(() => { if (!typing() && deferred) { deferred = false; refresh(); } }, 0);
  });

  // keyOf is a selector that finds el again in fresh content.
  function keyOf(el) {
    if (el.id) return '#' + CSS.escape(el.id);
    for (const a of ['data-url', 'name', 'href', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v) return `${el.localName}[${a}="${CSS.escape(v)}"]`;
    }
    return null;
  }

  // swap puts fresh HTML into #live, keeping what the person was at: focus,
  // scroll positions, open <details>, values typed but not sent, and
  // elements marked data-keep (the followed log).
  function swap(html) {
    const a = document.activeElement;
    const focusKey = a && a !== live && live.contains(a) ? keyOf(a) : null;
    const sx = window.scrollX, sy = window.scrollY;
    const scrolls = [...live.querySelectorAll('.scroll, .chart')].map((e) => e.scrollLeft);
    const open = [...live.querySelectorAll('details[open][id]')].map((d) => d.id);
    const typed = [...live.querySelectorAll('form input, form textarea, form select')]
      .filter((f) => f.type !== 'hidden' && f.name && f.value !== f.defaultValue)
      .map((f) => [keyOf(f.form) + ' [name="' + CSS.escape(f.name) + '"]', f.value]);
    const kept = [...live.querySelectorAll('[data-keep][id]')];

    const tpl = document.createElement('template');
    tpl.innerHTML = html;
    for (const old of kept) {
      const fresh = tpl.content.getElementById(old.id);
      if (fresh && fresh.dataset.follow === old.dataset.follow) {
        fresh.replaceWith(old);
      } else {
        streams.get(old)?.close();
      }
    }
    live.replaceChildren(tpl.content);

    live.querySelectorAll('.scroll, .chart').forEach((e, i) => { if (scrolls[i]) e.scrollLeft = scrolls[i]; });
    for (const id of open) document.getElementById(id)?.setAttribute('open', '');
    for (const [sel, v] of typed) {
      try { const f = live.querySelector(sel); if (f) f.value = v; } catch { /* odd selector */ }
    }
    window.scrollTo(sx, sy);
    if (focusKey) {
      try { live.querySelector(focusKey)?.focus({ preventScroll: true }); } catch { /* odd selector */ }
    }
    follow();
  }

  let changes = null;
  function listen() {
    if (!live || !document.body.classList.contains('app') || !('EventSource' in window)) return;
    changes = new EventSource('/ui/events');
    let opened = false;
    changes.addEventListener('change', refresh);
    // After a reconnect, changes may have been missed: catch up once.
    changes.addEventListener('open', () => { if (opened) refresh(); opened = true; });
  }
  listen();

  // A page put away in the back/forward cache holds no connection; when it
  // comes back it catches up (a followed log starts over: reload).
  window.addEventListener('pagehide', () => {
    changes?.close();
    changes = null;
    const el = document.querySelector('#log[data-follow]');
    const es = el && streams.get(el);
    if (es && es.readyState !== EventSource.CLOSED) { es.close(); el.dataset.cut = '1'; }
  });
  window.addEventListener('pageshow', (e) => {
    if (!e.persisted) return;
    if (document.querySelector('#log[data-cut]')) { location.reload(); return; }
    listen();
    refresh();
  });

  // ---- Actions: <button class="act" data-method data-url [data-confirm]> --

  document.addEventListener('click', async (ev) => {
    const btn = ev.target instanceof Element ? ev.target.closest('button.act') : null;
    if (!btn || btn.disabled) return;
    ev.preventDefault();
    if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
    const what = btn.getAttribute('aria-label') || btn.textContent.trim();
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try {
      await send(btn.dataset.method || 'POST', btn.dataset.url, {});
      say(`${what}: done`, 'ok');
      refresh();
    } catch (err) {
      say(err.message, 'error');
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
      if (btn.isConnected && (document.activeElement === document.body || !document.activeElement)) btn.focus();
    }
  });

  // ---- Forms: <form class="api" data-method data-url data-json="name:type,..."> --

  // formJSON builds the request body from the fields data-json names; a
  // type is number, string or list (comma-separated, into an array).
  function formJSON(form) {
    const out = {};
    for (const spec of (form.dataset.json || '').split(',')) {
      const [name, type = 'string'] = spec.split(':').map((s) => s.trim());
      if (!name) continue;
      const field = form.elements.namedItem(name);
      if (!field) continue;
      const v = String(field.value ?? '');
      if (type === 'number') {
        if (v.trim() === '') continue;
        const num = Number(v);
        if (!Number.isFinite(num)) throw new Error(`${name}: ${v} is not a number`);
        out[name] = num;
      } else if (type === 'list') {
        out[name] = v.split(',').map((s) => s.trim()).filter(Boolean);
      } else {
        out[name] = v;
      }
    }
    return out;
  }

  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('form.api')) return;
    ev.preventDefault();
    if (!form.reportValidity()) return;
    let body;
    try { body = formJSON(form); } catch (err) { say(err.message, 'error'); return; }
    const buttons = [...form.querySelectorAll('button, input[type=submit]')];
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute('aria-busy', 'true');
    try {
      await send(form.dataset.method || 'POST', form.dataset.url, body);
      // What was typed is now what is saved.
      for (const f of form.elements) if ('defaultValue' in f) f.defaultValue = f.value;
      say(form.dataset.done || 'Saved', 'ok');
      refresh();
    } catch (err) {
      say(err.message, 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute('aria-busy');
    }
  });

  // ---- Log follow: <pre id="log" data-follow="URL"> --------------------

  const LOG_MAX = 1 << 20; // characters kept: the last megabyte or so
  const streams = new WeakMap();

  function follow() {
    const el = document.querySelector('#log[data-follow]');
    if (!el || streams.has(el) || !('EventSource' in window)) return;
    const es = new EventSource(el.dataset.follow);
    streams.set(el, es);
    let size = el.textContent.length;
    es.addEventListener('log', (e) => {
      let text;
      try { text = JSON.parse(e.data); } catch { return; }
      if (typeof text !== 'string' || text === '') return;
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
      el.append(text);
      size += text.length;
      if (size > LOG_MAX) {
        // Keep the tail, with room to grow before trimming again.
        const all = el.textContent;
        el.textContent = all.slice(all.length - Math.floor(LOG_MAX * 0.75));
        size = el.textContent.length;
      }
      if (atBottom) el.scrollTop = el.scrollHeight;
    });
    es.addEventListener('end', (e) => {
      es.close();
      let why = '';
      try { why = JSON.parse(e.data).error || ''; } catch { /* an end with no reason */ }
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
      const mark = document.createElement('span');
      mark.className = 'end muted';
      mark.textContent = (el.textContent && !el.textContent.endsWith('\n') ? '\n' : '') + (why ? '— ' + why + ' —' : '— end of output —');
      el.append(mark);
      if (atBottom) el.scrollTop = el.scrollHeight;
    });
  }
  follow();
})();
