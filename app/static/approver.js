// Gatehouse phone approver (app/views/approver.tsx): enrols this phone from a one-time link
// (/approve#t=TOKEN: the token stays in the fragment, never in a server log), then lists the
// user's waiting logins, live, and signs each Approve or Deny with this phone's passkey.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const status = (text) => {
    $('status').textContent = text;
  };

  // base64url <-> bytes, for browsers without the WebAuthn JSON helpers.
  const enc = (buf) => {
    const bytes = new Uint8Array(buf);
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const dec = (s) => {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    return Uint8Array.from(b, (ch) => ch.charCodeAt(0));
  };
  const creationOptions = (o) =>
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
      ? PublicKeyCredential.parseCreationOptionsFromJSON(o)
      : { ...o, challenge: dec(o.challenge), user: { ...o.user, id: dec(o.user.id) }, excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: dec(c.id) })) };
  const requestOptions = (o) =>
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
      ? PublicKeyCredential.parseRequestOptionsFromJSON(o)
      : { ...o, challenge: dec(o.challenge), allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: dec(c.id) })) };
  const credentialJson = (c) => {
    if (typeof c.toJSON === 'function') return c.toJSON();
    const r = c.response;
    const response = r.attestationObject
      ? { clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject), transports: typeof r.getTransports === 'function' ? r.getTransports() : [] }
      : { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData), signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : undefined };
    return { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment, clientExtensionResults: c.getClientExtensionResults(), response };
  };

  async function api(path, body) {
    const init = body === undefined ? { credentials: 'same-origin' } : { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const r = await fetch(path, init);
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(j.error || `The appliance answered ${r.status}.`), { status: r.status });
    return j;
  }

  // --- the list of waiting logins
  const shown = new Map();
  function left(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s left` : `${s} s left`;
  }
  function refreshEmpty() {
    $('empty').hidden = shown.size > 0;
  }
  function add(req) {
    if (shown.has(req.id)) return;
    const li = document.createElement('li');
    li.className = 'request';
    li.dataset.id = req.id;
    const h = document.createElement('h3');
    h.textContent = req.title;
    const what = document.createElement('p');
    what.textContent = req.description;
    const where = document.createElement('p');
    where.className = 'muted where';
    where.textContent = req.where;
    const time = document.createElement('p');
    time.className = 'muted time-left';
    const row = document.createElement('div');
    row.className = 'row';
    const approve = document.createElement('button');
    approve.type = 'button';
    approve.className = 'approve';
    approve.textContent = 'Approve';
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'danger deny';
    deny.textContent = 'Deny';
    // Number matching the Windows way: approving is picking the number the sign-in screen shows.
    const picks = Array.isArray(req.choices)
      ? req.choices.map((n) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'pick';
          b.textContent = String(n);
          b.dataset.number = String(n);
          b.setAttribute('aria-label', `Approve: the screen shows ${n}`);
          return b;
        })
      : [];
    const buttons = picks.length > 0 ? [...picks, deny] : [approve, deny];
    li.append(h, what, where, time);
    if (picks.length > 0) {
      const ask = document.createElement('p');
      ask.className = 'pick-ask';
      ask.textContent = 'To approve, tap the number shown where you are signing in:';
      const nums = document.createElement('div');
      nums.className = 'row picks';
      nums.append(...picks);
      li.append(ask, nums);
      row.append(deny);
    } else row.append(approve, deny);
    // Number matching: the sign-in asks for this number; it is typed there, not here.
    if (typeof req.number === 'number') {
      const number = document.createElement('p');
      number.className = 'match-number';
      number.textContent = `Enter ${req.number} where you are signing in`;
      number.dataset.number = String(req.number);
      li.append(number);
    }
    li.append(row);
    const tick = () => {
      time.textContent = left(req.expiresAt - Date.now());
    };
    tick();
    const timer = setInterval(tick, 1000);
    shown.set(req.id, { li, timer });
    const enable = (on) => {
      for (const b of buttons) b.disabled = !on;
    };
    const decide = async (decision, number) => {
      enable(false);
      const picked = number === undefined ? {} : { number };
      try {
        const options = await api(`/approve/api/requests/${encodeURIComponent(req.id)}/options`, { decision, ...picked });
        const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
        await api(`/approve/api/requests/${encodeURIComponent(req.id)}/decision`, { decision, ...picked, response: credentialJson(cred) });
        status(decision === 'approve' ? `Approved: ${req.title}.` : `Denied: ${req.title}.`);
        remove(req.id);
      } catch (e) {
        status(e && e.name === 'NotAllowedError' ? 'Cancelled: nothing was sent.' : `Not sent: ${e.message}`);
        enable(true);
      }
    };
    approve.addEventListener('click', () => decide('approve'));
    deny.addEventListener('click', () => decide('deny'));
    for (const b of picks) b.addEventListener('click', () => decide('approve', Number(b.dataset.number)));
    $('requests').append(li);
    refreshEmpty();
  }
  function remove(id) {
    const s = shown.get(id);
    if (s === undefined) return;
    clearInterval(s.timer);
    s.li.remove();
    shown.delete(id);
    refreshEmpty();
  }

  let events;
  async function follow() {
    let list;
    try {
      list = await api('/approve/api/requests');
    } catch (e) {
      if (e.status === 401) {
        $('not-enrolled').hidden = false;
        $('requests-card').hidden = true;
        return;
      }
      status(`Cannot reach Gatehouse: ${e.message}`);
      setTimeout(follow, 5000);
      return;
    }
    $('requests-card').hidden = false;
    $('who').textContent = `${list.device} · ${list.username}`;
    for (const id of [...shown.keys()]) if (!list.requests.some((r) => r.id === id)) remove(id);
    for (const r of list.requests) add(r);
    refreshEmpty();
    void pushSetup(false);
    // Live while open: new requests arrive here without a push message.
    if (events === undefined) {
      events = new EventSource('/approve/api/events');
      events.addEventListener('new', (e) => add(JSON.parse(e.data)));
      events.addEventListener('gone', (e) => remove(JSON.parse(e.data).id));
      events.addEventListener('error', () => {
        events.close();
        events = undefined;
        setTimeout(follow, 3000);
      });
    }
  }

  // --- Web Push: requests reach the phone when the approver is closed
  const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);
  async function pushSetup(userGesture) {
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
    const row = $('notify-row');
    try {
      const reg = await withTimeout(navigator.serviceWorker.ready, 10000, 'the service worker did not start');
      const have = await reg.pushManager.getSubscription();
      if (have && Notification.permission === 'granted') {
        await api('/approve/api/subscription', { subscription: have.toJSON() });
        row.hidden = true;
        return;
      }
      // Browsers ask for the permission only after a tap.
      if (Notification.permission !== 'granted' && !userGesture) {
        row.hidden = Notification.permission === 'denied';
        return;
      }
      if (Notification.permission !== 'granted' && (await Notification.requestPermission()) !== 'granted') {
        status('Notifications are off: keep the approver open to see requests.');
        return;
      }
      const { publicKey } = await api('/approve/api/push-key');
      const sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: dec(publicKey) }), 10000, 'the browser’s push service did not answer');
      await api('/approve/api/subscription', { subscription: sub.toJSON() });
      row.hidden = true;
      status('Notifications are on for this phone.');
    } catch (e) {
      row.hidden = false;
      status(`Notifications not turned on: ${e.message}`);
    }
  }
  $('notify').addEventListener('click', () => void pushSetup(true));

  // --- enrolment from a one-time link
  async function enrol(token) {
    $('enrol').hidden = false;
    let start;
    try {
      start = await api('/approve/api/enrol/options', { token });
    } catch (e) {
      $('enrol-who').textContent = e.message;
      $('enrol-form').hidden = true;
      return;
    }
    $('enrol-who').textContent = `For ${start.username}.`;
    $('enrol-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const button = ev.target.querySelector('button');
      button.disabled = true;
      try {
        const cred = await navigator.credentials.create({ publicKey: creationOptions(start.options) });
        const done = await api('/approve/api/enrol', { token, name: $('device-name').value, response: credentialJson(cred) });
        history.replaceState(null, '', '/approve');
        $('enrol').hidden = true;
        status(`This phone (${done.name}) now approves logins for ${done.username}.`);
        await follow();
      } catch (e) {
        status(e && e.name === 'NotAllowedError' ? 'Cancelled: no passkey was made.' : `Not set up: ${e.message}`);
        button.disabled = false;
      }
    });
  }

  const token = new URLSearchParams(location.hash.slice(1)).get('t');
  if (token) void enrol(token);
  else void follow();
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/approve/sw.js', { scope: '/approve' }).catch(() => {});
})();
