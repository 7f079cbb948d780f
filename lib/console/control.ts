/**
 * The operator's pause and resume of the bot for one user, from the console trigger (lib/console/send.ts):
 * `{ control: "pause" | "resume", pageId, psid, seconds? }`. A pause is a user hold like a person's reply
 * (lib/platform/conversation-state.ts): every queued step of the user is dropped and nothing is answered
 * until it ends; resume ends any hold at once (a person's, another app's, a recipient stop).
 */
import { type ConversationState, UNTIL_RETURNED } from '../platform/conversation-state.ts';
import { type FieldError, fieldErrors } from '../platform/issues.ts';
import { userLabel } from '../platform/telemetry.ts';
import * as z from '../platform/zod.ts';
import { groupIdOf } from '../queue/codec.ts';

const id = (what: string) =>
  z.string({ error: `${what} must be a string` }).check(z.minLength(1), z.maxLength(64));

const controlSchema = z.strictObject({
  control: z.enum(['pause', 'resume'], { error: () => 'control must be "pause" or "resume"' }),
  pageId: id('pageId'),
  psid: id('psid'),
  /** Pause only: how long (s); absent: HUMAN_TAKEOVER_PAUSE_SECONDS; 0: until resumed. */
  seconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(31_536_000))),
});

export type ControlResult =
  | { ok: true; control: 'pause' | 'resume'; groupId: string; silentUntil?: number }
  | { ok: false; errors: FieldError[] };

export type ControlDeps = {
  conversations: ConversationState;
  pauseSeconds: number;
  now: () => number;
};

export const isControlPayload = (input: unknown): boolean =>
  typeof input === 'object' && input !== null && 'control' in input;

/** Validates and applies a pause or resume; a failed write is an error value the console shows. */
export const runControl = async (input: unknown, deps: ControlDeps): Promise<ControlResult> => {
  const parsed = controlSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error.issues) };
  const { control, pageId, psid, seconds } = parsed.data;
  if (control === 'resume' && seconds !== undefined)
    return { ok: false, errors: [{ path: 'seconds', message: 'only used with "pause"; leave it out' }] };
  const groupId = groupIdOf(pageId, psid);
  const now = deps.now();
  try {
    if (control === 'resume') {
      await deps.conversations.release(groupId, now);
      return { ok: true, control, groupId };
    }
    const length = seconds ?? deps.pauseSeconds;
    const through = length === 0 ? UNTIL_RETURNED : now + length * 1000;
    await deps.conversations.hold(groupId, { through, reason: 'operator', at: now });
    return { ok: true, control, groupId, silentUntil: through };
  } catch (error) {
    const message = `could not ${control} ${userLabel(psid)}: ${error instanceof Error ? error.name : 'unknown'}`;
    return { ok: false, errors: [{ path: '(state)', message }] };
  }
};
