// The local chat view: one thread for this tab's user (Messenger, Instagram or WhatsApp look), fed live by
// the stack's event stream.
// What the page sends goes to /local/say, which signs it with the app secret and POSTs it to the real
// webhook; what appears here is only what Graph was asked to do (seen, typing, messages, reactions).
// The "reply as the Page" box posts to /local/echo: the signed echo Meta delivers when a person answers from
// the Page inbox, so the bot steps aside (docs/takeover.md) — the line under it says until when.
// Every /local/* call presents the token this page was served with (local/local-guard.ts): no other page
// and no tunnel can use them.

// Each channel's indicator semantics (README, Channels): Messenger and Instagram show "Seen" on mark_seen
// and drop the typing bubble after about 20 s; WhatsApp has no separate seen call — its read + typing call
// turns the ticks blue and shows "typing…" together, and the indicator ends after 25 s.
const LOOKS = {
  messenger: { seen: 'Seen', typingTimeoutMs: 20_000, readWithTyping: false },
  instagram: { seen: 'Seen', typingTimeoutMs: 20_000, readWithTyping: false },
  whatsapp: { seen: '✓✓', typingTimeoutMs: 25_000, readWithTyping: true },
};

const thread = document.getElementById('thread');
const typing = document.getElementById('typing');
const chips = document.getElementById('chips');
const status = document.getElementById('status');
const form = document.getElementById('composer');
const input = document.getElementById('text');
const phone = document.getElementById('phone');
const channelPicker = document.getElementById('channel');

let look = LOOKS.messenger;
const setChannel = (channel) => {
  if (!(channel in LOOKS) || phone.dataset.channel === channel) return;
  look = LOOKS[channel];
  phone.dataset.channel = channel;
  channelPicker.value = channel;
};
channelPicker.addEventListener('change', () => setChannel(channelPicker.value));

const token = document.querySelector('meta[name="ellipsis-token"]')?.content ?? '';

const psid = sessionStorage.getItem('ellipsis-psid') ?? `web-${Math.random().toString(36).slice(2, 10)}`;
sessionStorage.setItem('ellipsis-psid', psid);

let typingTimer;
let seenMarker;

const scrollDown = () => {
  thread.scrollTop = thread.scrollHeight;
};

const showTyping = (on) => {
  clearTimeout(typingTimer);
  typing.hidden = !on;
  if (on) {
    thread.append(typing); // the bubble sits under the latest message, as in Messenger
    typingTimer = setTimeout(() => showTyping(false), look.typingTimeoutMs);
  }
  scrollDown();
};

// Longer texts arrive whole (the terminal transcript cuts them) and show collapsed; a click toggles.
const LONG_TEXT_CHARS = 600;

const addRow = (who, text, mid) => {
  const row = document.createElement('div');
  row.className = `row ${who}`;
  const bubble = document.createElement('div');
  bubble.className = `bubble ${who}`;
  bubble.textContent = text;
  if (text.length > LONG_TEXT_CHARS) {
    bubble.classList.add('long', 'collapsed');
    bubble.title = `${text.length} characters: click to expand or collapse`;
    bubble.addEventListener('click', () => bubble.classList.toggle('collapsed'));
  }
  if (mid) row.dataset.mid = mid;
  row.append(bubble);
  thread.append(row);
  scrollDown();
  return row;
};

const setChips = (quickReplies = []) => {
  chips.replaceChildren(
    ...quickReplies
      .filter((q) => q.content_type === 'text')
      .map((q) => {
        const chip = document.createElement('button');
        chip.type = 'button';
        chip.className = 'chip';
        chip.textContent = q.title;
        chip.addEventListener('click', () => say(q.title, q.payload));
        return chip;
      }),
  );
};

const markSeen = () => {
  const lastUser = [...thread.querySelectorAll('.row.user')].at(-1);
  if (!lastUser) return;
  seenMarker?.remove();
  seenMarker = document.createElement('div');
  seenMarker.className = 'seen';
  seenMarker.textContent = look.seen;
  lastUser.append(seenMarker);
  scrollDown();
};

const react = (mid, emoji) => {
  const row = [...thread.querySelectorAll('.row.user')].find((r) => r.dataset.mid === mid);
  const bubble = row?.querySelector('.bubble');
  if (!bubble) return;
  bubble.querySelector('.reaction')?.remove();
  row.classList.toggle('reacted', Boolean(emoji));
  if (!emoji) return;
  const badge = document.createElement('span');
  badge.className = 'reaction';
  badge.textContent = emoji;
  bubble.append(badge);
};

const clock = (ms) => new Date(ms).toLocaleTimeString();

// A person's reply shows on the Page's side, marked as a person's; the line under it says when the bot resumes.
const onTakeover = (event) => {
  if (event.kind === 'person') {
    if (event.text !== undefined) addRow('page', event.text);
    const until = event.resumesAt === undefined ? '' : ` · the bot resumes at ${clock(event.resumesAt)}`;
    notice(`A person took over${until}`);
  } else if (event.kind === 'routing_lost') {
    notice('Another app took the thread · the bot resumes when it is passed back');
  } else {
    notice('The thread is back · the bot answers the next message');
  }
};

const notice = (text) => {
  const line = document.createElement('div');
  line.className = 'notice';
  line.textContent = text;
  thread.append(line);
  scrollDown();
};

const onGraph = (event) => {
  if (event.status !== 200) {
    notice(`Graph answered ${event.status || 'nothing'} for ${event.kind ?? 'a call'}`);
    return;
  }
  // A call made for an Instagram or WhatsApp account brings its channel: take its look.
  if (event.channel) setChannel(event.channel);
  const action = event.action ?? {};
  if ('message' in action) {
    showTyping(false);
    const m = action.message;
    addRow('bot', m.text ?? `[${m.attachment?.type ?? 'attachment'}]`);
    setChips(m.quick_replies);
    return;
  }
  switch (action.sender_action) {
    case 'mark_seen':
      return markSeen();
    case 'typing_on':
      if (look.readWithTyping) markSeen();
      return showTyping(true);
    case 'typing_off':
      return showTyping(false);
    case 'react':
      return react(action.payload.message_id, action.payload.reaction);
    case 'unreact':
      return react(action.payload.message_id, undefined);
  }
};

const connect = () => {
  const events = new EventSource(`/local/events?token=${encodeURIComponent(token)}`);
  events.onopen = () => {
    status.textContent = 'Active now';
  };
  events.onerror = () => {
    status.textContent = 'reconnecting…';
  };
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.psid !== psid) return;
    if (event.type === 'user') {
      setChips([]);
      addRow('user', event.text ?? event.postback ?? '(event)', event.mid);
    } else if (event.type === 'graph') {
      onGraph(event);
    } else if (event.type === 'takeover') {
      onTakeover(event);
    } else if (event.type === 'rejected') {
      // A body the webhook refused is not a message: say so, with the webhook's answer.
      notice(`webhook refused a body (${event.status}: ${event.reason}); not shown as a message`);
    }
  };
};

// The selected channel is the one written on: the stack's account of that channel (/local/config) gets it.
async function say(text, quickReplyPayload) {
  const channel = phone.dataset.channel;
  const body = { psid, text, channel, ...(quickReplyPayload ? { quickReplyPayload } : {}) };
  try {
    const response = await fetch('/local/say', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ellipsis-token': token },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    // A webhook refusal arrives on the event stream as a 'rejected' event, shown once from there.
    if (!response.ok) notice(answer.error ?? `could not send (${response.status})`);
  } catch {
    notice('the local stack is not reachable');
  }
}

const pageForm = document.getElementById('page-composer');
const pageInput = document.getElementById('page-text');

async function replyAsPage(text) {
  try {
    const response = await fetch('/local/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ellipsis-token': token },
      body: JSON.stringify({ psid, text }),
    });
    const answer = await response.json();
    if (!response.ok) notice(answer.error ?? `could not reply as the Page (${response.status})`);
  } catch {
    notice('the local stack is not reachable');
  }
}

pageForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = pageInput.value.trim();
  if (!text) return;
  pageInput.value = '';
  replyAsPage(text);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  say(text);
});

connect();
input.focus();
