/**
 * The pagecall dashboard: pages by group with their stats, recent calls, throughput, a form to try
 * a call and the injector snippet. Live data comes from GET /v1/events; actions use the HTTP API.
 * Page-supplied text is only ever set with textContent (see dom.ts).
 */
import { RATE_SECONDS, RECENT_CALLS, type CallView, type ClusterView, type LiveEvent, type PageView, type RatePoint, type StreamView, type Totals } from '../events.js';
import { drawChart } from './chart.js';
import { byId, el, setText } from './dom.js';
import { readEvents } from './event-stream.js';
import { age, clock, count, countOf, errorRate, ms, plural } from './format.js';

const TOKEN_KEY = 'pagecall.token';

// ---- access -------------------------------------------------------------------------------

function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A token handed over in the fragment (`/#token=…`, never sent to the server) is stored, then hidden. */
function takeTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1] ?? ''));
  history.replaceState(null, '', location.pathname + location.search);
}

// ---- state --------------------------------------------------------------------------------

const pages = new Map<string, PageView>();
let calls: CallView[] = [];
let lastSeq = 0;
let rate: RatePoint[] = [];
let streams: StreamView[] = [];
let debugCapture = false;
/** The cluster this bridge is a node of, or null for a single bridge. */
let cluster: ClusterView | null = null;
/** server clock − local clock, so ages are right even when the clocks differ. */
let clockOffset = 0;

function apply(event: LiveEvent): void {
  clockOffset = event.serverTime - Date.now();
  if (event.type === 'snapshot') {
    pages.clear();
    for (const p of event.pages) pages.set(p.id, p);
    calls = [];
    lastSeq = 0;
    rate = [];
    debugCapture = event.debugCapture;
    cluster = event.cluster ?? null;
    byId('open-pages').hidden = !event.openPages;
    setText(byId('version'), `v${event.version} · protocol ${event.protocol}`);
    setText(byId('capture-note'), debugCapture ? 'arguments and results shown (--debug-capture)' : 'arguments and results hidden (start the bridge with --debug-capture to see them)');
    byId('calls-body').replaceChildren();
    void renderSnippet();
    streams = event.streams;
  } else {
    for (const id of event.gone) pages.delete(id);
    for (const p of event.pages) pages.set(p.id, p);
    if (event.cluster) cluster = event.cluster;
    if (event.streams) streams = event.streams;
  }
  renderCluster();
  renderStreams();
  addCalls(event.calls);
  for (const point of event.rate) if (rate.length === 0 || point.t > rate[rate.length - 1]!.t) rate.push(point);
  if (rate.length > RATE_SECONDS) rate = rate.slice(-RATE_SECONDS);
  renderPages();
  renderTotals(event.totals);
  renderChart();
}

// ---- header -------------------------------------------------------------------------------

function setStatus(kind: 'live' | 'wait' | 'down', text: string): void {
  const pill = byId('status');
  pill.className = `pill pill-${kind}`;
  setText(pill, text);
}

function renderTotals(totals: Totals): void {
  setText(byId('total-pages'), count(totals.pages));
  setText(byId('label-pages'), plural(totals.pages, 'page'));
  setText(byId('total-inflight'), count(totals.inFlight + totals.waiting));
  setText(byId('total-calls'), count(totals.calls));
  setText(byId('label-calls'), plural(totals.calls, 'call'));
  setText(byId('total-failed'), count(totals.failed));
  const last = rate[rate.length - 1];
  const perSecond = last ? last.ok + last.failed : 0;
  setText(byId('total-rate'), count(perSecond));
  setText(byId('label-rate'), plural(perSecond, 'call/s', 'calls/s'));
}

/** The cluster pill: this node, NATS's state and the nodes; red while NATS is unreachable. */
function renderCluster(): void {
  const pill = byId('cluster');
  pill.hidden = cluster === null;
  if (!cluster) return;
  const connected = cluster.nats === 'connected';
  pill.className = `pill ${connected ? 'pill-live' : 'pill-down'}`;
  pill.dataset.nats = cluster.nats;
  const others = cluster.nodes.length - 1;
  setText(
    pill,
    connected
      ? `node ${cluster.node} · ${countOf(cluster.nodes.length, 'node')}${cluster.missing.length ? ` · ${cluster.missing.length} not answering` : ''}`
      : `node ${cluster.node} · NATS ${cluster.nats === 'connecting' ? 'not reached yet' : 'unreachable'}: this node's pages only`,
  );
  const lines = [
    `NATS: ${cluster.nats} since ${new Date(cluster.since).toLocaleTimeString()}`,
    ...(cluster.error ? [`last error: ${cluster.error}`] : []),
    `nodes: ${cluster.nodes.map((n) => `${n.node}${n.self ? ' (this one)' : ''} · ${countOf(n.pages, 'page')}`).join(', ')}`,
    ...(cluster.missing.length ? [`not answering: ${cluster.missing.join(', ')}`] : []),
    ...(others === 0 && connected ? ['no other node heard yet'] : []),
  ];
  pill.title = lines.join('\n');
}

// ---- pages --------------------------------------------------------------------------------

interface Row {
  tr: HTMLTableRowElement;
  title: HTMLElement;
  /** The node holding the page (cluster only). */
  node: HTMLElement | null;
  url: HTMLElement;
  context: HTMLElement;
  origin: HTMLElement;
  functions: HTMLElement;
  functionsKey: string;
  connected: HTMLElement;
  inFlight: HTMLElement;
  served: HTMLElement;
  errors: HTMLElement;
  p50: HTMLElement;
  p99: HTMLElement;
  kick: HTMLButtonElement;
  connectedAt: number;
}

interface GroupBox {
  box: HTMLElement;
  count: HTMLElement;
  tbody: HTMLTableSectionElement;
}

const rows = new Map<string, Row>();
const groupBoxes = new Map<string, GroupBox>();

/** Fixed column widths, so the tables of all groups line up. */
function columns(): HTMLTableColElement {
  const group = el('colgroup');
  const names = ['c-page', 'c-fn', 'c-age', 'c-num', 'c-num', 'c-num', 'c-num', 'c-num', 'c-kick'];
  if (cluster) names.splice(1, 0, 'c-node');
  for (const className of names) group.append(el('col', { className }));
  return group;
}

function createGroup(name: string): GroupBox {
  const countNode = el('span', { className: 'muted' });
  const tbody = el('tbody');
  const head = el('tr');
  const labels: Array<readonly [string, boolean]> = [['page', false], ['functions', false], ['connected', true], ['in flight', true], ['served', true], ['errors', true], ['p50 ms', true], ['p99 ms', true], ['', false]];
  if (cluster) labels.splice(1, 0, ['node', false]);
  for (const [label, numeric] of labels) {
    head.append(el('th', { text: label, ...(numeric ? { className: 'num' } : {}) }));
  }
  const box = el(
    'div',
    { className: 'group', attrs: { 'data-group': name } },
    el('div', { className: 'group-head' }, el('h3', { text: name }), countNode),
    el('div', { className: 'scroll' }, el('table', { className: 'pages-table' }, columns(), el('thead', {}, head), tbody)),
  );
  const created = { box, count: countNode, tbody };
  groupBoxes.set(name, created);
  return created;
}

function createRow(page: PageView): Row {
  const title = el('span', { className: 'page-title' });
  const url = el('span', { className: 'page-url' });
  const context = el('span', { className: 'page-context' });
  const origin = el('span', { className: 'page-origin muted' });
  const id = el('span', { className: 'page-id mono' }, el('span', { text: page.id }), context);
  const cell = (className = 'num'): HTMLTableCellElement => el('td', { className });
  const kick = el('button', { className: 'kick', text: 'Kick', attrs: { type: 'button', 'aria-label': `kick page ${page.id}` } });
  kick.addEventListener('click', () => void kickPage(page.id, row));
  const row: Row = {
    tr: el('tr', { attrs: { 'data-client-id': page.id } }),
    title,
    node: cluster ? el('td', { className: 'node mono' }) : null,
    url,
    context,
    origin,
    functions: el('div', { className: 'functions' }),
    functionsKey: '',
    connected: cell(),
    inFlight: cell(),
    served: cell(),
    errors: cell(),
    p50: cell(),
    p99: cell(),
    kick,
    connectedAt: page.connectedAt,
  };
  row.tr.append(el('td', { className: 'page' }, title, url, origin, id), ...(row.node ? [row.node] : []), el('td', { className: 'fn' }, row.functions), row.connected, row.inFlight, row.served, row.errors, row.p50, row.p99, el('td', {}, kick));
  rows.set(page.id, row);
  return row;
}

function updateRow(row: Row, page: PageView): void {
  setText(row.title, page.title || '(untitled)');
  row.title.title = page.title;
  setText(row.url, page.url);
  row.url.title = page.url;
  const from = page.origin === null ? 'no origin (a program, not a browser)' : `from ${page.origin}`;
  row.origin.replaceChildren(from, ...(page.keyless ? [el('span', { className: 'tag-keyless', text: 'no key', title: 'joined without the page key (--open-pages)' })] : []));
  // A tab's top document is the usual case; frames and workers are said.
  setText(row.context, page.context === 'top' ? '' : ` · ${page.context}`);
  row.context.title = page.context === 'frame' ? 'a child frame of a tab' : page.context === 'worker' ? 'a dedicated worker' : '';
  if (row.node) setText(row.node, page.node ?? '');
  const key = page.actions.join('\n');
  if (key !== row.functionsKey) {
    row.functionsKey = key;
    const shown = page.actions.slice(0, 12).map((a) => el('span', { className: 'chip mono', text: a, title: a }));
    if (page.actions.length > 12) shown.push(el('span', { className: 'chip muted', text: `+${page.actions.length - 12}`, title: page.actions.slice(12).join(', ') }));
    if (page.actions.length === 0) shown.push(el('span', { className: 'muted', text: 'none yet' }));
    row.functions.replaceChildren(...shown);
  }
  row.connectedAt = page.connectedAt;
  setText(row.connected, age(Date.now() + clockOffset - page.connectedAt));
  row.connected.title = new Date(page.connectedAt).toLocaleString();
  setText(row.inFlight, count(page.inFlight));
  setText(row.served, count(page.served));
  setText(row.errors, errorRate(page.served, page.failed));
  row.errors.title = `${page.failed} failed`;
  row.errors.classList.toggle('rate-bad', page.failed > 0 && page.failed / (page.served + page.failed) >= 0.05);
  setText(row.p50, ms(page.p50Ms));
  setText(row.p99, ms(page.p99Ms));
}

function renderPages(): void {
  const byGroup = new Map<string, PageView[]>();
  for (const page of pages.values()) {
    const list = byGroup.get(page.group);
    if (list) list.push(page);
    else byGroup.set(page.group, [page]);
  }
  for (const [id, row] of rows) {
    if (!pages.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  for (const [name, box] of groupBoxes) {
    if (!byGroup.has(name)) {
      box.box.remove();
      groupBoxes.delete(name);
    }
  }
  const container = byId('groups');
  [...byGroup.keys()].sort().forEach((name, gi) => {
    const box = groupBoxes.get(name) ?? createGroup(name);
    if (container.children[gi] !== box.box) container.insertBefore(box.box, container.children[gi] ?? null);
    const list = byGroup.get(name)!.sort((a, b) => a.connectedAt - b.connectedAt || a.id.localeCompare(b.id));
    setText(box.count, countOf(list.length, 'page'));
    list.forEach((page, i) => {
      const row = rows.get(page.id) ?? createRow(page);
      updateRow(row, page);
      if (box.tbody.children[i] !== row.tr) box.tbody.insertBefore(row.tr, box.tbody.children[i] ?? null);
    });
  });
  byId('no-pages').hidden = pages.size > 0;
  renderTryGroups();
}

function tickAges(): void {
  const now = Date.now() + clockOffset;
  for (const row of rows.values()) setText(row.connected, age(now - row.connectedAt));
}

async function kickPage(id: string, row: Row): Promise<void> {
  row.kick.disabled = true;
  row.tr.classList.add('leaving');
  const result = await api('DELETE', `/v1/clients/${encodeURIComponent(id)}`);
  if (!result.ok) {
    row.kick.disabled = false;
    row.tr.classList.remove('leaving');
    setText(row.kick, 'Kick (failed)');
    row.kick.title = `${result.error.code}: ${result.error.message}`;
  }
}

// ---- streams ------------------------------------------------------------------------------

function renderStreams(): void {
  const now = Date.now() + clockOffset;
  const body = byId('streams-body');
  body.replaceChildren(
    ...streams.map((s) =>
      el(
        'tr',
        { attrs: { 'data-topic': `${s.group}/${s.topic}` } },
        el('td', {}, el('span', { className: 'muted', text: `${s.group} · ` }), el('span', { className: 'mono', text: s.topic })),
        el('td', { className: 'num' }, count(s.subscribers), s.behind > 0 ? el('span', { className: 'behind', text: ` (${count(s.behind)} behind)` }) : null),
        el('td', { className: 'num' }, count(s.publishers), remote(s.remotePublishers, "other nodes' pages publishing to this topic")),
        el('td', { className: 'num' }, count(s.events), remote(s.remoteEvents, "values other nodes' pages published, received by this node while it follows the topic")),
        el('td', { className: 'num', text: count(s.errors) }),
        el('td', { className: 'num', text: count(s.droppedByPages) }),
        el('td', { className: 'num', text: count(s.missedBySubscribers) }),
        el('td', { className: 'num', text: count(s.kept) }),
        el('td', { className: 'muted', text: s.lastAt === null ? '–' : `${age(now - s.lastAt)} ago` }),
      ),
    ),
  );
  const table = body.closest('table');
  if (table) table.hidden = streams.length === 0;
  byId('no-streams').hidden = streams.length > 0;
}

/** ` + N remote` after a stream count on a cluster node, when other nodes' pages add to it. */
function remote(n: number | undefined, title: string): HTMLElement | null {
  return n ? el('span', { className: 'remote muted', text: ` + ${count(n)} remote`, title }) : null;
}

// ---- recent calls -------------------------------------------------------------------------

function addCalls(incoming: readonly CallView[]): void {
  const body = byId('calls-body');
  for (const call of incoming) {
    if (call.seq <= lastSeq) continue;
    lastSeq = call.seq;
    calls.push(call);
    body.insertBefore(callRow(call), body.firstChild);
  }
  if (calls.length > RECENT_CALLS) calls = calls.slice(-RECENT_CALLS);
  while (body.children.length > RECENT_CALLS) body.lastElementChild?.remove();
  byId('no-calls').hidden = calls.length > 0;
}

function callRow(call: CallView): HTMLTableRowElement {
  const ok = call.outcome === 'ok';
  const parts: string[] = [];
  if (call.message) parts.push(call.message);
  if (call.args !== undefined) parts.push(`args ${call.args}${call.result !== undefined ? ` → ${call.result}` : ''}`);
  const details = parts.join(' · ');
  return el(
    'tr',
    { attrs: { 'data-seq': String(call.seq) } },
    el('td', { className: 'mono', text: clock(call.at), title: call.requestId ? `request ${call.requestId}` : 'Node API call' }),
    el('td', {}, el('span', { className: 'muted', text: `${call.group} · ` }), el('span', { className: 'mono', text: call.action })),
    el('td', { className: 'mono muted', text: `${call.clientId ?? '–'}${call.node ? ` @ ${call.node}` : ''}`, title: call.node ? `served by a page of node ${call.node}` : '' }),
    el('td', { className: 'num', text: ms(call.durationMs) }),
    el('td', {}, el('span', { className: `outcome ${ok ? 'ok' : 'failed'}`, text: call.outcome })),
    el('td', { className: 'details mono', text: details, title: details }),
  );
}

// ---- chart --------------------------------------------------------------------------------

function renderChart(): void {
  const canvas = byId<HTMLCanvasElement>('chart');
  const top = drawChart(canvas, rate, Date.now() + clockOffset);
  // What the bars add up to, for tests and screen readers (the canvas itself is opaque to both).
  const total = rate.reduce((n, p) => n + p.ok + p.failed, 0);
  canvas.dataset.calls = String(total);
  canvas.setAttribute('aria-label', `${countOf(total, 'call')} in the last 2 minutes`);
  setText(byId('chart-max'), `scale ${count(top)}/s`);
}

// ---- try a call ---------------------------------------------------------------------------

type ApiResult = { ok: true; body: Record<string, unknown> } | { ok: false; status: number; error: { code: string; message: string; data?: unknown } };

async function api(method: string, path: string, body?: unknown): Promise<ApiResult> {
  let res: Response;
  try {
    const headers: Record<string, string> = { ...authHeaders() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    res = await fetch(path, { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    return { ok: false, status: 0, error: { code: 'UNREACHABLE', message: 'the bridge did not answer; is it still running?' } };
  }
  let parsed: { ok?: boolean; error?: { code: string; message: string; data?: unknown } } & Record<string, unknown>;
  try {
    parsed = (await res.json()) as typeof parsed;
  } catch {
    return { ok: false, status: res.status, error: { code: `HTTP_${res.status}`, message: 'the response was not JSON' } };
  }
  if (res.status === 401) showLogin('The bridge did not accept the token.');
  if (parsed.ok === true) return { ok: true, body: parsed };
  return { ok: false, status: res.status, error: parsed.error ?? { code: `HTTP_${res.status}`, message: 'unexpected response' } };
}

function renderTryGroups(): void {
  const select = byId<HTMLSelectElement>('try-group');
  const groups = [...new Set([...pages.values()].map((p) => p.group))].sort();
  const current = select.value;
  const have = [...select.options].filter((o) => !o.disabled).map((o) => o.value);
  if (have.join('\n') !== groups.join('\n') || (groups.length === 0 && select.options.length === 0)) {
    // An empty picker says why it is empty; the hint below it says how to fill it.
    const options = groups.length > 0 ? groups.map((g) => el('option', { text: g, attrs: { value: g } })) : [el('option', { text: 'no page connected', attrs: { value: '', disabled: '' } })];
    select.replaceChildren(...options);
    if (groups.includes(current)) select.value = current;
  }
  byId('try-hint').hidden = groups.length > 0;
  byId<HTMLButtonElement>('try-run').disabled = groups.length === 0;
  renderTryActions();
}

function renderTryActions(): void {
  const group = byId<HTMLSelectElement>('try-group').value;
  const actions = new Set<string>();
  for (const p of pages.values()) if (p.group === group) for (const a of p.actions) actions.add(a);
  const list = byId('try-actions');
  const sorted = [...actions].sort();
  const have = [...list.children].map((o) => (o as HTMLOptionElement).value);
  if (have.join('\n') !== sorted.join('\n')) list.replaceChildren(...sorted.map((a) => el('option', { attrs: { value: a } })));
}

/** Shows a call's outcome: a head line, then its data as JSON, then a page's stack as lines of text. */
function showOutput(ok: boolean, head: string, body?: unknown): void {
  const out = byId('try-output');
  out.hidden = false;
  out.className = `output ${ok ? 'ok' : 'failed'}`;
  const parts: Array<Node | string> = [head];
  let data = body;
  let stack: string | undefined;
  // A page error's stack is text with newlines: as a JSON string it would read as one line full of \n.
  if (!ok && data !== null && typeof data === 'object' && typeof (data as { stack?: unknown }).stack === 'string') {
    const { stack: text, ...rest } = data as { stack: string } & Record<string, unknown>;
    stack = text;
    data = Object.keys(rest).length > 0 ? rest : undefined;
  }
  if (data !== undefined) parts.push(`\n${JSON.stringify(data, null, 2)}`);
  if (stack) parts.push(el('span', { className: 'stack', text: stack }));
  out.replaceChildren(...parts);
}

async function runTry(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const group = byId<HTMLSelectElement>('try-group').value;
  const action = byId<HTMLInputElement>('try-action').value.trim();
  const argsText = byId<HTMLTextAreaElement>('try-args').value.trim();
  let args: unknown;
  try {
    args = argsText === '' ? [] : JSON.parse(argsText);
  } catch (error) {
    showOutput(false, `arguments: not valid JSON (${(error as Error).message})`);
    return;
  }
  if (!Array.isArray(args)) args = [args];
  if (!group) {
    showOutput(false, 'no group: connect a page first');
    return;
  }
  const button = byId<HTMLButtonElement>('try-run');
  button.disabled = true;
  const result = await api('POST', '/v1/call', { group, action, args });
  button.disabled = pages.size === 0;
  if (result.ok) {
    const { clientId, durationMs } = result.body as { clientId: string; durationMs: number };
    showOutput(true, `ok · ${ms(durationMs)} ms · page ${clientId}`, result.body.result);
  } else {
    showOutput(false, `${result.error.code}: ${result.error.message}`, result.error.data);
  }
}

// ---- injector snippet ---------------------------------------------------------------------

/** The snippet for the group in the form, from GET /v1/page-key (it carries that group's key). */
let snippet: { group: string; key: string; text: string } | null = null;
let snippetRequest = 0;

async function renderSnippet(): Promise<void> {
  const group = byId<HTMLInputElement>('snippet-group').value.trim() || 'default';
  const request = ++snippetRequest;
  const result = await api('GET', `/v1/page-key?group=${encodeURIComponent(group)}`);
  if (request !== snippetRequest) return;
  const code = byId('snippet-code');
  const copy = byId<HTMLButtonElement>('snippet-copy');
  if (!result.ok) {
    snippet = null;
    copy.disabled = true;
    setText(code, `${result.error.code}: ${result.error.message}`);
    return;
  }
  const { key, snippet: text } = result.body as { key: string; snippet: string };
  snippet = { group, key, text };
  copy.disabled = false;
  // The key is copied in full but not displayed, so a screenshot or a shoulder does not leak it.
  setText(code, text.split(key).join('••••••••'));
}

async function copySnippet(): Promise<void> {
  const text = snippet?.text;
  if (text === undefined) return;
  const note = byId('snippet-copied');
  try {
    await navigator.clipboard.writeText(text);
    setText(note, 'copied');
  } catch {
    setText(note, 'copy blocked by the browser; select the text above instead');
  }
  setTimeout(() => setText(note, ''), 2_000);
}

// ---- login and the stream -----------------------------------------------------------------

let stream: AbortController | null = null;

function showLogin(message: string): void {
  stream?.abort();
  stream = null;
  byId('main').hidden = true;
  byId('login').hidden = false;
  setText(byId('login-error'), message);
  setStatus('down', 'token needed');
  byId<HTMLInputElement>('login-token').focus();
}

async function connect(): Promise<void> {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  let delay = 500;
  while (stream === controller) {
    const end = await readEvents(authHeaders(), controller.signal, () => {
      delay = 500;
      byId('login').hidden = true;
      byId('main').hidden = false;
      byId('forget-token').hidden = storedToken() === null;
      setStatus('live', 'live');
    }, apply);
    if (stream !== controller) return;
    if (end.kind === 'unauthorized') {
      showLogin(storedToken() ? 'The bridge did not accept that token.' : '');
      return;
    }
    setStatus('down', end.kind === 'failed' ? `${end.message}; retrying` : 'reconnecting…');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5_000);
  }
}

function main(): void {
  takeTokenFromFragment();
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('login-token');
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = '';
    setStatus('wait', 'connecting…');
    void connect();
  });
  byId('forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    byId('forget-token').hidden = true;
    void connect();
  });
  byId('try-form').addEventListener('submit', (event) => void runTry(event as SubmitEvent));
  byId('try-group').addEventListener('change', renderTryActions);
  byId('snippet-group').addEventListener('input', () => void renderSnippet());
  byId('snippet-copy').addEventListener('click', () => void copySnippet());
  window.addEventListener('resize', renderChart);
  setInterval(() => {
    tickAges();
    renderChart();
    if (streams.length > 0) renderStreams();
  }, 1_000);
  void connect();
}

main();
