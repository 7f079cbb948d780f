/**
 * `npm run chat -- "hello"`: plays Meta's part — builds a Messenger webhook event, signs it with the app
 * secret (X-Hub-Signature-256) and POSTs it to the running local stack, then prints what the bot does.
 * Without arguments: an interactive prompt. The replies are followed through the stack's event stream.
 *
 * Environment: ELLIPSIS_URL (http://127.0.0.1:$ELLIPSIS_PORT), ELLIPSIS_PSID (cli-user), ELLIPSIS_PAGE_ID,
 * META_APP_SECRET (the local default unless set), ELLIPSIS_CHAT_WAIT_MS (how long to follow replies).
 */
import { createInterface } from 'node:readline/promises';
import { DEFAULT_PORTS, LOCAL_PAGE_ID, LOCAL_SECRETS, portFrom } from './defaults.ts';
import { postSignedWebhook, webhookBody } from './meta.ts';

type GraphEvent = {
  type: 'graph' | 'user';
  psid: string;
  at: number;
  status?: number;
  action?: {
    sender_action?: string;
    message?: { text?: string; quick_replies?: { title?: string }[] };
    payload?: { reaction?: string };
  };
};

const env = process.env;
const base = env.ELLIPSIS_URL ?? `http://127.0.0.1:${portFrom(env, 'ELLIPSIS_PORT', DEFAULT_PORTS.http)}`;
const psid = env.ELLIPSIS_PSID ?? 'cli-user';
const pageId = env.ELLIPSIS_PAGE_ID ?? LOCAL_PAGE_ID;
const appSecret = env.META_APP_SECRET ?? LOCAL_SECRETS.META_APP_SECRET;

const describe = (e: GraphEvent, gapMs: number | undefined): string => {
  const gap = gapMs === undefined ? '' : `  (+${(gapMs / 1000).toFixed(1)}s)`;
  if (e.status !== 200) return `  ✖ Graph ${e.status}${gap}`;
  const a = e.action ?? {};
  if (a.message) {
    const chips = (a.message.quick_replies ?? []).map((q) => `[${q.title ?? '?'}]`).join(' ');
    return `  bot: ${a.message.text ?? '[attachment]'}${chips ? `   ${chips}` : ''}${gap}`;
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

/** Follows the stack's SSE stream and prints this user's Graph calls until `signal` aborts. */
const follow = async (signal: AbortSignal, onEvent: (e: GraphEvent) => void) => {
  const response = await fetch(`${base}/local/events`, { signal });
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        if (!frame.startsWith('data: ')) continue;
        const event = JSON.parse(frame.slice(6)) as GraphEvent;
        if (event.psid === psid && event.type === 'graph') onEvent(event);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
};

const send = async (text: string) => {
  const body = webhookBody({ pageId, psid, timestamp: Date.now(), text });
  const answer = await postSignedWebhook(`${base}/webhook`, body, appSecret);
  if (answer.status !== 200) console.log(`  webhook answered ${answer.status}: ${answer.text}`);
  return answer.status === 200;
};

const main = async () => {
  const abort = new AbortController();
  let last: number | undefined;
  let lastMessageAt = 0;
  const following = follow(abort.signal, (e) => {
    console.log(describe(e, last === undefined ? undefined : e.at - last));
    last = e.at;
    if (e.action?.message) lastMessageAt = Date.now();
  }).catch((error: unknown) => {
    console.log(`  (not following replies: ${error instanceof Error ? error.message : String(error)})`);
  });

  const text = process.argv.slice(2).join(' ').trim();
  if (text) {
    console.log(`you: ${text}`);
    last = undefined;
    if (await send(text)) {
      // Follow until the replies have gone quiet for a moment (or the wait limit).
      const limit = Date.now() + Number(env.ELLIPSIS_CHAT_WAIT_MS ?? 30_000);
      const started = Date.now();
      while (Date.now() < limit) {
        await new Promise((r) => setTimeout(r, 250));
        if (lastMessageAt > 0 && Date.now() - lastMessageAt > 2500 && Date.now() - started > 1000) break;
      }
    }
  } else {
    console.log(`Chatting as ${psid} with ${base} — type a message, empty line or Ctrl-D to quit.`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    for await (const line of rl) {
      if (!line.trim()) break;
      last = undefined;
      await send(line.trim());
    }
    rl.close();
  }
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
