// Drives Debian's chromium (headless, through playwright-core) through the dashboard for
// tests/it/ui_browser.rs. Talks to the Rust test over stdout, one line per message:
//   QR <png>   the QR element as the browser shows it (the test decodes it and has a
//              sandbox phone scan it)
//   STEP <x>   progress, for the test's log
//   DONE       every check passed
// Any failed check or timeout exits non-zero with the reason on stderr.
'use strict';

const path = require('path');
const { chromium } = require('playwright-core');

const env = process.env;
const BASE = env.WAREST_URL;
const SHOTS = env.SHOTS_DIR;
const WAIT = 60000;

function say(line) { process.stdout.write(line + '\n'); }
function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }

async function launch() {
  return chromium.launch({
    executablePath: env.CHROMIUM,
    headless: true,
    // Root in CI: chromium's own sandbox needs user namespaces it may not get.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// Collects what would show a broken page: script errors, CSP violations, failed requests.
let current = null;
function watch(page) {
  current = page;
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.setDefaultTimeout(WAIT);
  page.on('dialog', (d) => d.accept());
  return problems;
}

// The QR image 404s for a moment around rotations; only our own pages' failures count.
function clean(problems) {
  return problems.filter((p) => !/qr\.png|Failed to load resource: the server responded with a status of 40[34]/.test(p));
}

async function signIn(page, user, password) {
  await page.goto(BASE + '/');
  await page.waitForURL(/\/login\?next=/);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/ui\/sessions$/), page.press('#password', 'Enter')]);
}

async function statusIs(page, status) {
  await page.waitForFunction(
    (s) => { const el = document.querySelector('[data-testid="status"]'); return el && el.textContent === s; },
    status, { timeout: WAIT });
}

async function linkFlow() {
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  const session = env.SESSION_ID;

  await signIn(page, env.WAREST_USER, env.WAREST_PASSWORD);
  say('STEP signed in');

  // Create the session from the list page's form, using the keyboard only.
  await page.focus('#sessionId');
  await page.keyboard.type(session);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Front desk');
  await Promise.all([
    page.waitForURL(new RegExp('/ui/sessions/' + session + '$')),
    page.keyboard.press('Enter'),
  ]);
  say('STEP session created');

  // The QR shows as an image, and the page listens to the live stream.
  await page.waitForSelector('body[data-stream="open"]');
  await page.waitForFunction(() => {
    const img = document.getElementById('qr-img');
    return img && img.complete && img.naturalWidth > 0 && !document.getElementById('qr-box').classList.contains('hidden');
  });
  const qr = env.QR_FILE;
  await page.locator('#qr-img').screenshot({ path: qr });
  await page.screenshot({ path: path.join(SHOTS, 'qr.png') });
  // From here on the page must not navigate until the status is WORKING.
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  say('QR ' + qr);

  await statusIs(page, 'WORKING');
  check(navigations === 0, 'WORKING appeared without a reload (' + navigations + ' navigations)');
  await page.waitForSelector('#qr-box.hidden', { state: 'attached' });
  await page.waitForFunction(() => document.querySelector('[data-me="phone"]').textContent !== '—');
  say('STEP WORKING without reload');

  // A test message, followed until the contact's phone confirms delivery.
  await page.fill('#to', '+' + env.CONTACT);
  await Promise.all([page.waitForURL(/\?sent=/), page.click('#send-form button[type="submit"]')]);
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="sent-status"]');
    return el && ['delivered', 'read', 'played'].includes(el.textContent);
  });
  say('STEP delivered');
  await page.screenshot({ path: path.join(SHOTS, 'session.png'), fullPage: true });

  // The event monitor, open in another tab, sees what follows live.
  const monitor = await context.newPage();
  const monitorProblems = watch(monitor);
  await monitor.goto(BASE + '/ui/events');
  await monitor.waitForSelector('body[data-stream="open"]');
  current = page;

  // Stop (after the confirmation dialog) and start again: WORKING without a new QR.
  await Promise.all([page.waitForNavigation(), page.click('button[data-action="stop"]')]);
  await statusIs(page, 'STOPPED');
  await Promise.all([page.waitForNavigation(), page.click('button[data-action="start"]')]);
  await statusIs(page, 'WORKING');
  say('STEP stopped and started');

  await monitor.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('#monitor tr')).map((tr) => tr.textContent);
    return rows.some((t) => t.includes('session_status') && t.includes('STOPPED'))
      && rows.some((t) => t.includes('session_status') && t.includes('WORKING'));
  });
  await monitor.screenshot({ path: path.join(SHOTS, 'events.png') });
  await monitor.close();
  say('STEP monitor');

  await page.goto(BASE + '/ui/sessions');
  await page.waitForSelector('[data-status-of="' + session + '"]');
  check((await page.textContent('[data-count="WORKING"]')) === '1', 'the list counts one WORKING session');
  await page.screenshot({ path: path.join(SHOTS, 'sessions.png') });

  // A phone-sized screen: nothing wider than the viewport, same session, readable.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    storageState: await context.storageState(),
  });
  const small = await phone.newPage();
  const smallProblems = watch(small);
  await small.goto(BASE + '/ui/sessions/' + session);
  await statusIs(small, 'WORKING');
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, 'no horizontal scrolling on a phone (' + overflow + ' px too wide)');
  await small.screenshot({ path: path.join(SHOTS, 'session-phone.png') });

  const all = clean(problems.concat(smallProblems, monitorProblems));
  check(all.length === 0, 'no script error or CSP violation: ' + all.join(' | '));
  await browser.close();
}

async function scopeFlow() {
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, env.WAREST_USER, env.WAREST_PASSWORD);

  const rows = await page.$$eval('[data-session-row]', (trs) => trs.map((tr) => tr.getAttribute('data-session-row')));
  check(JSON.stringify(rows) === JSON.stringify([env.OWN_SESSION]), 'only the own session is listed: ' + rows);
  check((await page.textContent('[data-count="ALL"]')) === '1', 'the counts are of the own sessions only');
  check(!(await page.content()).includes(env.OTHER_SESSION), "another tenant's session is nowhere on the page");

  const other = await page.goto(BASE + '/ui/sessions/' + env.OTHER_SESSION);
  check(other.status() === 404, "another tenant's session page is not found (" + other.status() + ')');
  check((await page.textContent('main')).includes('1101'), 'with the API code 1101');
  say('STEP scoped');

  await page.goto(BASE + '/ui/sessions/' + env.OWN_SESSION);
  const own = env.OWN_SESSION;
  const result = await page.evaluate(async (id) => {
    const post = (headers) => fetch('/ui/sessions/' + id + '/stop', {
      method: 'POST', credentials: 'same-origin',
      headers: Object.assign({ 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, headers),
      body: 'confirm=yes',
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const status = async () => {
      const env = await fetch('/ui/sessions.json', { headers: { Accept: 'application/json' } }).then((r) => r.json());
      return env.results[0].items.find((s) => s.sessionId === id).status;
    };
    const before = await status();
    const refused = await post({});
    const afterRefused = await status();
    const accepted = await post({ 'X-CSRF-Token': document.body.getAttribute('data-csrf') });
    return { before, refused, afterRefused, accepted, after: await status() };
  }, own);
  check(result.refused.status === 403 && result.refused.body.code === 2202, 'without the token: 403, code 2202: ' + JSON.stringify(result.refused));
  check(result.afterRefused === result.before && result.before !== 'STOPPED', 'the refused request changed nothing: ' + JSON.stringify(result));
  check(result.accepted.status === 200 && result.accepted.body.code === 1000, 'with the token it is done: ' + JSON.stringify(result.accepted));
  check(result.after === 'STOPPED', 'and the session stopped: ' + result.after);
  say('STEP csrf');

  const all = clean(problems);
  check(all.length === 0, 'no script error or CSP violation: ' + all.join(' | '));
  await browser.close();
}

const flows = { link: linkFlow, scope: scopeFlow };
(flows[env.FLOW] || (() => Promise.reject(new Error('FLOW must be link or scope'))))()
  .then(() => say('DONE'))
  .catch(async (e) => {
    process.stderr.write(((e && e.stack) || String(e)) + '\n');
    // Where the page was, to tell a broken page from a slow one.
    if (current) {
      try {
        process.stderr.write('at ' + current.url() + ':\n' + (await current.textContent('body')).replace(/\s+/g, ' ').slice(0, 2000) + '\n');
      } catch (_) { /* the page is gone */ }
    }
    process.exit(1);
  });
