/**
 * `npm run chat -- "hello"` (or `npm run chat -- --channel whatsapp "hello"`): plays Meta's part — builds
 * the channel's webhook event (Messenger by default; Instagram; WhatsApp, for the stack's account of it), signs it with the app
 * secret (X-Hub-Signature-256) and POSTs it to the running local stack, then prints what the bot does for
 * THAT message until the stack has nothing left to do (or ELLIPSIS_CHAT_WAIT_MS passes). Without
 * arguments: an interactive prompt. Graph calls are matched to the message by its event id (the stack's
 * `replyTo`, local/inbound-tap.ts), never by order: an earlier answer still going out is not shown as this one.
 *
 * Environment: ELLIPSIS_URL (http://127.0.0.1:$ELLIPSIS_PORT), ELLIPSIS_PSID (cli-user; on WhatsApp the
 * business-scoped user id US.1000000000000000001), ELLIPSIS_PAGE_ID (the Messenger Page),
 * META_APP_SECRET (the local default unless set), ELLIPSIS_CHAT_WAIT_MS (how long to wait for the answer,
 * 180000: the responder may think for up to 100 s).
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { eventIdFromMid } from '../lib/meta/fields.ts';
import { describeIssues } from '../lib/platform/issues.ts';
import * as z from '../lib/platform/zod.ts';
import { type Channel, channelSchema } from '../lib/queue/recipient.ts';
import { LOCAL_TOKEN_HEADER, TOKEN_META } from './chat-view.ts';
import { DEFAULT_PORTS, LOCAL_PAGE_ID, LOCAL_SECRETS, portFrom } from './defaults.ts';
import { channelWebhookBody, type LocalAccount, postSignedWebhook } from './meta.ts';
import { transcriptText } from './transcript.ts';

type StreamEvent = {
  type: 'graph' | 'user' | 'rejected';
  psid?: string;
  at: number;
  status?: number;
  replyTo?: string;
  reason?: string;
  action?: {
    sender_action?: string;
    message?: { text?: string; quick_replies?: { title?: string }[] };
    payload?: { reaction?: string };
  };
};

const env = process.env;
const base = env.ELLIPSIS_URL ?? `http://127.0.0.1:${portFrom(env, 'ELLIPSIS_PORT', DEFAULT_PORTS.http)}`;

/** `--channel messenger|instagram|whatsapp` (default messenger) and the message words. */
const parseCli = (argv: readonly string[]): { channel: Channel; text: string } => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { channel: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const channel = channelSchema.safeParse(values.channel ?? 'messenger');
  if (!channel.success) throw new Error(`--channel: ${describeIssues(channel.error.issues)}`);
  return { channel: channel.data, text: positionals.join(' ').trim() };
};

/** The command line, or the reason it is refused (before anything is sent). */
const cli = (() => {
  try {
    return parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`npm run chat: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
})();

const psid = env.ELLIPSIS_PSID ?? (cli.channel === 'whatsapp' ? 'US.1000000000000000001' : 'cli-user');
const appSecret = env.META_APP_SECRET ?? LOCAL_SECRETS.META_APP_SECRET;

/** ELLIPSIS_CHAT_WAIT_MS, refused by name unless a positive whole number. */
const waitLimitMs = (): number => {
  const raw = env.ELLIPSIS_CHAT_WAIT_MS;
  if (raw === undefined || raw === '') return 180_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new Error('ELLIPSIS_CHAT_WAIT_MS must be a positive whole number of ms');
  return ms;
};

const describe = (e: StreamEvent, gapMs: number | undefined): string => {
  const gap = gapMs === undefined ? '' : `  (+${(gapMs / 1000).toFixed(1)}s)`;
  if (e.status !== 200) return `  ✖ Graph ${e.status}${gap}`;
  const a = e.action ?? {};
  if (a.message) {
    const chips = (a.message.quick_replies ?? []).map((q) => `[${transcriptText(q.title ?? '?')}]`).join(' ');
    const text = a.message.text === undefined ? '[attachment]' : transcriptText(a.message.text, 2000);
    return `  bot: ${text}${chips ? `   ${chips}` : ''}${gap}`;
  }
  const label: Record<string, string> = {
    mark_seen: '👀 seen',
    typing_on: '… typing',
    typing_off: '   stopped typing',
    react: `${a.payload?.reaction ?? ''} reacted`,
    unreact: '   reaction removed',
  };
  return `  ${label[a.sender_action ?? ''] ?? a.sender_action}${gap}`;
};

/** The per-start token the chat page carries (local/local-guard.ts): a local process may read it. */
const localToken = async (): Promise<string> => {
  const page = await fetch(`${base}/`);
  const html = await page.text();
  const token = TOKEN_META.exec(html)?.[1];
  if (!page.ok || !token) throw new Error(`the chat page at ${base}/ gave no token (HTTP ${page.status})`);
  return token;
};

/** Reads the stack's SSE stream, calling `onEvent` per event; resolves `connected` once subscribed. */
const follow = async (
  token: string,
  signal: AbortSignal,
  onEvent: (e: StreamEvent) => void,
  connected: () => void,
) => {
  const response = await fetch(`${base}/local/events?token=${encodeURIComponent(token)}`, { signal });
  if (!response.ok || !response.body) throw new Error(`/local/events answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith(': connected')) connected();
        if (frame.startsWith('data: ')) onEvent(JSON.parse(frame.slice(6)) as StreamEvent);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
};

/** Whether the stack's whole pipeline has nothing left to do: every answer has gone out. */
const stackIdle = async (token: string): Promise<boolean> => {
  const response = await fetch(`${base}/local/idle`, { headers: { [LOCAL_TOKEN_HEADER]: token } });
  return response.ok && ((await response.json()) as { idle?: boolean }).idle === true;
};

/** Waits until the stack is idle; false when ELLIPSIS_CHAT_WAIT_MS passed first. */
const untilAnswered = async (token: string, limitMs: number): Promise<boolean> => {
  const limit = Date.now() + limitMs;
  while (Date.now() < limit) {
    if (await stackIdle(token)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
};

/**
 * Sends one signed message, its event id (what the stack's Graph calls name in `replyTo`) in `mine` before
 * the POST: the stack may mark it seen before the webhook's 200 reaches us. A refused message is taken out.
 */
const send = async (account: LocalAccount, text: string, mine: Set<string>): Promise<boolean> => {
  const mid = account.channel === 'whatsapp' ? `wamid.local_${randomUUID()}` : `m_local_${randomUUID()}`;
  const eventId = eventIdFromMid(mid);
  mine.add(eventId);
  const body = channelWebhookBody(account.channel, {
    pageId: account.id,
    psid,
    timestamp: Date.now(),
    text,
    mid,
  });
  const answer = await postSignedWebhook(`${base}/webhook`, body, appSecret);
  if (answer.status === 200) return true;
  mine.delete(eventId);
  console.log(`  webhook answered ${answer.status}: ${transcriptText(answer.text)}`);
  return false;
};

/** Prints this user's Graph calls that answer one of `mine`; counts the others (an earlier answer). */
const printer = (mine: Set<string>) => {
  let last: number | undefined;
  let earlier = 0;
  const onEvent = (e: StreamEvent) => {
    if (e.psid !== psid) return;
    if (e.type === 'rejected') console.log(`  ✖ webhook refused a body (${e.status}: ${e.reason})`);
    if (e.type !== 'graph') return;
    if (e.replyTo === undefined || !mine.has(e.replyTo)) {
      earlier += 1;
      return;
    }
    console.log(describe(e, last === undefined ? undefined : e.at - last));
    last = e.at;
  };
  return { onEvent, earlier: () => earlier, restartGaps: () => (last = undefined) };
};

const conversation = async (account: LocalAccount, mine: Set<string>, print: ReturnType<typeof printer>) => {
  const { text } = cli;
  if (text) {
    console.log(`you: ${transcriptText(text)}`);
    return send(account, text, mine);
  }
  console.log(
    `Chatting as ${psid} on ${account.channel} ${account.id} with ${base} — type a message, empty line or Ctrl-D to quit.`,
  );
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  for await (const line of rl) {
    if (!line.trim()) break;
    print.restartGaps();
    await send(account, line.trim(), mine);
  }
  rl.close();
  return mine.size > 0;
};

const configSchema = z.looseObject({
  accounts: z.optional(z.array(z.looseObject({ id: z.string(), channel: channelSchema }))),
});

/**
 * The stack's account of `channel` (/local/config); a stack that names none (older) serves the one Page.
 * The Messenger Page is ELLIPSIS_PAGE_ID when set, as `npm start` names it.
 */
const accountOf = async (token: string, channel: Channel): Promise<LocalAccount> => {
  const response = await fetch(`${base}/local/config`, { headers: { [LOCAL_TOKEN_HEADER]: token } });
  const config = configSchema.safeParse(response.ok ? await response.json() : {});
  const accounts = (config.success ? config.data.accounts : undefined) ?? [];
  const pageId = env.ELLIPSIS_PAGE_ID;
  const account =
    accounts.find((a) => a.channel === channel && (channel !== 'messenger' || !pageId || a.id === pageId)) ??
    (channel === 'messenger' ? { id: pageId ?? LOCAL_PAGE_ID, channel } : undefined);
  if (account === undefined) throw new Error(`--channel: the stack at ${base} serves no ${channel} account`);
  return { id: account.id, channel: account.channel };
};

const main = async () => {
  const limitMs = waitLimitMs();
  const token = await localToken();
  const account = await accountOf(token, cli.channel);
  const abort = new AbortController();
  const mine = new Set<string>();
  const print = printer(mine);
  let connected = () => {};
  const subscribed = new Promise<void>((resolve) => (connected = resolve));
  const following = follow(token, abort.signal, print.onEvent, connected);
  await Promise.race([subscribed, following]);
  const sent = await conversation(account, mine, print);
  if (sent && !(await untilAnswered(token, limitMs)))
    console.log(
      `  (no complete answer within ${limitMs} ms: raise ELLIPSIS_CHAT_WAIT_MS, or see npm start's log)`,
    );
  if (print.earlier() > 0)
    console.log(`  (${print.earlier()} Graph call(s) answering an earlier message were not shown)`);
  abort.abort();
  await following;
};

main().catch((error: unknown) => {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  console.error(
    cause === 'ECONNREFUSED'
      ? `npm run chat: nothing listens at ${base} — start the stack first with npm start`
      : `npm run chat: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
