// Headless Chromium (Debian's, through playwright-core) on the admin page:
// the browser's own Basic login, the dashboard with its chart, an unban by
// clicking, no console errors (a CSP violation would be one), a screenshot.
// usage: node dashboard.js URL USER PASSWORD BANNED_ADDRESS SCREENSHOT
'use strict';
const { chromium } = require('playwright-core');

const [url, user, pass, banned, shot] = process.argv.slice(2);

function fail(msg) {
  console.error('dashboard.js: ' + msg);
  process.exit(1);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    // Without or with wrong credentials the browser is refused: a 401, or
    // Chromium's own ERR_INVALID_AUTH_CREDENTIALS when it has none to offer.
    async function refused(creds, what) {
      const c = await browser.newContext({ ignoreHTTPSErrors: true, httpCredentials: creds });
      try {
        const r = await (await c.newPage()).goto(url + '/pbxguard/');
        if (r.status() !== 401) fail(what + ': ' + r.status());
      } catch (e) {
        if (!/ERR_INVALID_AUTH_CREDENTIALS/.test(String(e))) throw e;
      }
      await c.close();
    }
    await refused(undefined, 'no credentials');
    await refused({ username: user, password: pass + 'x' }, 'a wrong password');

    const ctx = await browser.newContext({ ignoreHTTPSErrors: true,
      httpCredentials: { username: user, password: pass }, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(url + '/pbxguard/');
    if (res.status() !== 200) fail('dashboard: ' + res.status());
    await page.waitForSelector('body[data-loaded="1"]', { timeout: 10000 });
    const who = await page.textContent('#whoami');
    if (who !== 'signed in as ' + user) fail('whoami: ' + who);
    const bars = await page.locator('#chart rect.bar').count();
    const total = Number(await page.getAttribute('#chart', 'data-total'));
    if (bars !== 60) fail('chart bars: ' + bars);
    if (!(total > 0)) fail('the chart shows no failures: ' + total);
    const btn = `button[data-address="${banned}"]`;
    await page.waitForSelector(btn, { timeout: 10000 });
    const certs = await page.locator('#certificates tbody tr').count();
    if (certs < 1) fail('no certificate row');
    await page.screenshot({ path: shot, fullPage: true });
    await page.click(btn);
    await page.waitForFunction((s) => !document.querySelector(s), btn, { timeout: 10000 });
    const said = await page.textContent('#unban-result');
    if (said !== 'Unbanned ' + banned) fail('after the click: ' + said);
    if (errors.length) fail('console errors: ' + errors.join(' | '));
    console.log(JSON.stringify({ bars, total, certs, unbanned: banned }));
  } finally {
    await browser.close();
  }
})().catch((e) => fail(e.stack || String(e)));
