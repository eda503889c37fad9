// The ingestion gateway from a real browser: headless Chromium (Debian's
// `chromium`, driven by playwright-core; no browser download) loads a shop
// page served on a second loopback origin. The page's tracking script posts
// page_view and add_to_cart events cross-origin to Sluice's gateway with an
// API key (so the browser sends a CORS preflight first), one at a time and
// as a batch. The records are then read back from the stream with the
// JavaScript SDK; an event the rules refuse and a request with a wrong key
// write nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { importPackage, startSluice, stopSluice } from './sluice.mjs';

const { chromium } = await importPackage('playwright-core');
const { KinesisClient, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand } =
  await importPackage('@aws-sdk/client-kinesis');

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const API_KEY = 'browser-test-key';

// The page's own script: what a site's tracking snippet does.
const TRACKER = `
window.track = async function (endpoint, key) {
  const send = (path, body) => fetch(endpoint + path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'x-api-key': key},
    body: JSON.stringify(body),
  }).then(async (r) => ({status: r.status, body: await r.json(),
                         requestId: r.headers.get('X-Request-Id')}));
  const now = new Date().toISOString();
  const user = 'browser-user-1';
  const view = await send('/api/events', {
    event_type: 'page_view', user_id: user, timestamp: now,
    page: location.pathname, referrer: document.referrer, device: 'desktop'});
  const cart = await send('/api/events', {
    event_type: 'add_to_cart', user_id: user, timestamp: now,
    product_id: 'widget-a', quantity: 2, price: 19.99});
  const batch = await send('/api/events/batch', [
    {event_type: 'page_view', user_id: user, timestamp: now, page: '/cart'},
    {event_type: 'add_to_cart', user_id: user, timestamp: now}]);
  const bad = await send('/api/events', {event_type: 'add_to_cart'});
  const wrongKey = await fetch(endpoint + '/api/events', {
    method: 'POST', headers: {'Content-Type': 'application/json',
                              'x-api-key': 'not-the-key'},
    body: JSON.stringify({event_type: 'page_view'})}).then((r) => r.status);
  return {view, cart, batch, bad, wrongKey};
};`;

let sluice;
let site;
let browser;
let workdir;

before(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'sluice-gateway-browser-'));
  // The site: a page and its script on another port, hence another origin.
  site = createServer((req, res) => {
    if (req.url === '/tracker.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(TRACKER);
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>Widget shop</title>' +
            '<script src="/tracker.js"></script><h1>Widget A</h1>');
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${site.address().port}`;
  const validation = {
    required: ['timestamp', 'user_id', 'event_type'],
    types: { timestamp: 'string', quantity: 'integer' },
    required_by_event_type: { add_to_cart: ['product_id', 'quantity'] },
  };
  const config = {
    streams: [{ name: 'clicks', shard_count: 1 }],
    gateway: {
      routes: [
        { method: 'POST', path: '/api/events', stream: 'clicks',
          partition_key: 'user_id', validation,
          enrich: { received_at: 'received_at', source_ip: 'source_ip' } },
        { method: 'POST', path: '/api/events/batch', stream: 'clicks',
          batch: true, partition_key: 'user_id', validation },
      ],
      api_keys: [{ name: 'site', routes: ['*'],
                   sha256: createHash('sha256').update(API_KEY).digest('hex') }],
      cors: { allowed_origins: [origin] },
    },
  };
  const path = join(workdir, 'sluice.json');
  writeFileSync(path, JSON.stringify(config));
  sluice = await startSluice(['--config', path]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

after(async () => {
  await browser?.close();
  await stopSluice(sluice);
  await new Promise((resolve) => (site ? site.close(resolve) : resolve()));
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

async function readStream(name) {
  const kinesis = new KinesisClient({
    endpoint: `http://127.0.0.1:${sluice.port}`, region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const records = [];
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
  for (const shard of Shards) {
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({
      StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    for (const r of Records) {
      records.push({ key: r.PartitionKey, sequenceNumber: r.SequenceNumber,
                     event: JSON.parse(Buffer.from(r.Data).toString()) });
    }
  }
  kinesis.destroy();
  return records;
}

test('a tracking script posts events cross-origin; they land in the stream', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/products/widget-a`);
  const results = await page.evaluate(
    ([endpoint, key]) => window.track(endpoint, key),
    [`http://127.0.0.1:${sluice.port}`, API_KEY]);

  assert.equal(results.view.status, 200, JSON.stringify(results.view));
  assert.equal(results.cart.status, 200, JSON.stringify(results.cart));
  // The browser read the X-Request-Id header: it is exposed to scripts.
  assert.equal(results.view.requestId, results.view.body.request_id);
  // Partial success, event by event.
  assert.equal(results.batch.status, 207);
  assert.equal(results.batch.body.accepted, 1);
  assert.deepEqual(results.batch.body.results[1].errors.map((e) => e.field),
                   ['product_id', 'quantity']);
  assert.equal(results.bad.status, 400);
  assert.deepEqual(results.bad.body.errors.map((e) => e.field),
                   ['timestamp', 'user_id', 'product_id', 'quantity']);
  assert.equal(results.wrongKey, 403);
  // The x-api-key header makes every one of these a preflighted request:
  // the browser only sent them (and let the script read the answers)
  // because the preflight and the answers allowed this origin.
  await page.close();

  const records = await readStream('clicks');
  assert.equal(records.length, 3, JSON.stringify(records));
  const bySequence = new Map(records.map((r) => [r.sequenceNumber, r]));
  const view = bySequence.get(results.view.body.sequence_number);
  assert.equal(view.key, 'browser-user-1');
  assert.equal(view.event.event_type, 'page_view');
  assert.equal(view.event.page, '/products/widget-a');
  assert.equal(view.event.source_ip, '127.0.0.1');
  assert.match(view.event.received_at, /Z$/);
  const cart = bySequence.get(results.cart.body.sequence_number);
  assert.equal(cart.event.event_type, 'add_to_cart');
  assert.equal(cart.event.quantity, 2);
  const fromBatch = bySequence.get(results.batch.body.results[0].sequence_number);
  assert.equal(fromBatch.event.page, '/cart');
});

test('a page on an origin not allowed cannot post: the browser blocks it', async () => {
  const before = (await readStream('clicks')).length;
  const page = await browser.newPage();
  // localhost is another origin than 127.0.0.1, and not in the list.
  await page.goto(`http://localhost:${site.address().port}/`);
  const outcome = await page.evaluate(async (endpoint) => {
    try {
      await fetch(endpoint + '/api/events', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-api-key': 'browser-test-key' },
        body: JSON.stringify({ event_type: 'page_view', user_id: 'u',
                               timestamp: 't' }) });
      return 'sent';
    } catch (error) {
      return error.name;
    }
  }, `http://127.0.0.1:${sluice.port}`);
  await page.close();
  assert.equal(outcome, 'TypeError');  // the preflight was refused
  assert.equal((await readStream('clicks')).length, before);
});
