// Shared by the call history pages: the API token (kept in this tab's sessionStorage; a
// #token=… in the URL is moved there and taken off the URL), authorised fetches, and DOM helpers
// that set text as text (transcripts are what callers said: never markup).
'use strict';
const TOKEN_KEY = 'weaver-api-token';

function apiToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** Shows the token form; `onToken` runs once one is given. */
function askToken(message, onToken) {
  const form = document.getElementById('token-form');
  form.classList.add('shown');
  document.getElementById('token-message').textContent = message;
  form.onsubmit = (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('token-input').value.trim());
    form.classList.remove('shown');
    onToken();
  };
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, asText = false) {
  const r = await fetch(path, { headers: { authorization: 'Bearer ' + apiToken() }, cache: 'no-store' });
  if (!r.ok) {
    let msg = 'HTTP ' + r.status;
    try {
      msg = (await r.json()).error || msg;
    } catch {}
    throw new ApiError(r.status, msg);
  }
  return asText ? r : r.json();
}

/** el('td', {class: 'n'}, 'text', child…): attributes as attributes, strings as text nodes. */
function el(tag, attrs, ...children) {
  const svg = ['svg', 'g', 'rect', 'line', 'path', 'text', 'title', 'circle'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(d));
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
const fmtDuration = (ms) => (ms === undefined || ms === null ? '–' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s');
const qualityClass = (q, threshold) => (q === undefined || q === null ? 'muted' : q >= threshold ? 'good' : 'bad');
/**
 * Runs a page: adds the token form and the load state to its header, then `load()` once a token is
 * there (asking for one when the API refuses it), and counts loads in body[data-loaded].
 */
function startPage(load) {
  const header = document.querySelector('header');
  header.append(
    el('span', { class: 'spacer' }),
    el('form', { id: 'token-form' }, el('span', { id: 'token-message', class: 'muted' }), el('input', { id: 'token-input', type: 'password', placeholder: 'WEAVER_API_TOKEN', autocomplete: 'off' }), el('button', {}, 'use token')),
    el('span', { id: 'load-state', class: 'muted', 'data-testid': 'load-state' }, 'loading'),
  );
  const state = document.getElementById('load-state');
  async function run() {
    state.textContent = 'loading';
    state.className = 'muted';
    try {
      await load();
      state.textContent = 'loaded ' + new Date().toLocaleTimeString();
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    } catch (e) {
      state.textContent = e.message;
      state.className = 'error';
      if (e.status === 401 || e.status === 403) askToken(e.status === 401 ? 'API token:' : 'that token was refused; API token:', run);
    }
  }
  if (apiToken()) run();
  else askToken('API token:', run);
  return run;
}

const SERIES_COLORS = ['#58a6ff', '#d29922', '#3fb950', '#bc8cff', '#f85149', '#39c5cf', '#e3b341', '#ff7b72'];
