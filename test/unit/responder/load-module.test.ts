import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Responder } from '../../../lib/bots/responder.ts';
import { defaultResponder } from '../../../lib/bots/responder.ts';
import type { Reply } from '../../../lib/queue/reply.ts';
import {
  importResponder,
  loadResponder,
  ResponderLoadError,
  slowResponder,
} from '../../../lib/responder/load.ts';
import { inboundEvent } from '../../support/factories.ts';

const base = { RESPONDER: 'rules' as const, RESPONDER_SLOW_MS: 8000 };
const turnOf = (signal = new AbortController().signal) => ({ events: [inboundEvent()], signal });

const moduleFile = (source: string): string => {
  const dir = mkdtempSync(join(tmpdir(), 'responder-module-'));
  const file = join(dir, 'responder.mjs');
  writeFileSync(file, source);
  return file;
};

describe('loadResponder: RESPONDER_MODULE and the built-in demos', () => {
  it('loads a module exporting `responder` or a default function (RESPONDER_MODULE wins over RESPONDER)', async () => {
    const named = moduleFile('export const responder = () => [{ message: { text: "named" } }];');
    const dflt = moduleFile('export default () => [{ message: { text: "default" } }];');
    for (const [file, text] of [
      [named, 'named'],
      [dflt, 'default'],
    ] as const) {
      const r = await loadResponder(
        { ...base, RESPONDER: 'slow', RESPONDER_MODULE: file },
        { env: {}, log: { warn: () => {} }, secrets: async () => ({}) as never },
      );
      expect(await r(inboundEvent(), turnOf())).toEqual([{ message: { text } }]);
    }
  });

  it('loads the bundled TypeScript examples the README names', async () => {
    for (const path of ['./local/responders/sleepy.ts', './local/responders/streaming.ts']) {
      expect(typeof (await importResponder(path))).toBe('function');
    }
  });

  it('fails loudly, naming the module, when it cannot be imported or exports no function', async () => {
    await expect(importResponder('./nope/missing.ts')).rejects.toThrow(ResponderLoadError);
    const none = moduleFile('export const answer = 42;');
    await expect(importResponder(none)).rejects.toThrow(/exports no Responder/);
  });

  it('RESPONDER=rules is the bundled rules', async () => {
    const rules = await loadResponder(base, {
      env: {},
      log: { warn: () => {} },
      secrets: async () => ({}) as never,
    });
    expect(await rules(inboundEvent({ text: 'hello' }), turnOf())).toEqual(
      defaultResponder(inboundEvent({ text: 'hello' })),
    );
  });
});

describe('slowResponder', () => {
  it('thinks for the given time, then answers as the inner responder would', async () => {
    const inner: Responder = () => [{ message: { text: 'ok' } } satisfies Reply];
    const started = Date.now();
    expect(await slowResponder(30, inner)(inboundEvent(), turnOf())).toEqual([{ message: { text: 'ok' } }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('gives up when the turn runs out of thinking time', async () => {
    const abort = new AbortController();
    const pending = slowResponder(60_000, () => [])(inboundEvent(), turnOf(abort.signal));
    abort.abort(new Error('out of time'));
    await expect(pending).rejects.toThrow('out of time');
  });
});
