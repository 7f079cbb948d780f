/**
 * A simulated SQS FIFO queue for the scale simulation: what the sender and responder see of SQS, and the
 * in-flight quota the issue is about.
 *
 * Modelled after the AWS SQS Developer Guide: a message group delivers its messages one at a time, in
 * order, and holds back the next while one is in flight ("FIFO delivery logic"); a message is in flight
 * from its receive until it is deleted or its visibility timeout runs out (ChangeMessageVisibility sets a
 * new one from now); and a FIFO queue holds at most 120,000 in-flight messages ("Amazon SQS message
 * quotas") — past it a receive returns no message and no error, which `receive` reproduces by returning
 * nothing. Every API call is counted per action, as the per-action TPS quota counts them.
 */
import type { EventLoop } from './sim-events.ts';

/** AWS SQS Developer Guide, "Amazon SQS message quotas": in-flight messages per FIFO queue. */
export const FIFO_IN_FLIGHT_LIMIT = 120_000;

export type SimMessage<T> = {
  group: string;
  body: T;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
};

type Group<T> = { messages: SimMessage<T>[]; inFlight: boolean; ready: boolean };

export type SqsAction = 'SendMessageBatch' | 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility';

export type SimFifo<T> = {
  /** One SendMessageBatch of up to 10 entries (the caller splits); entries keep their order per group. */
  sendBatch: (entries: readonly { group: string; body: T }[]) => void;
  /** Receives up to `max` messages of distinct ready groups (one receive call), or none at the quota. */
  receive: (max: number) => SimMessage<T>[];
  /** Done with it: the group's next message becomes available. */
  remove: (message: SimMessage<T>) => void;
  /** Hands the message back: available again `seconds` from now, its group blocked until then. */
  changeVisibility: (message: SimMessage<T>, seconds: number) => void;
  /** Messages received and not yet deleted nor visible again. */
  inFlight: () => number;
  /** Groups with a message available now. */
  readyGroups: () => number;
  /** Receives that returned nothing because the in-flight quota was reached while messages were ready. */
  starvedReceives: () => number;
  calls: Map<SqsAction, number>;
  /** Called whenever a message becomes available (a consumer may poll). */
  onReady: (listener: () => void) => void;
};

export const createSimFifo = <T>(loop: EventLoop, inFlightLimit = FIFO_IN_FLIGHT_LIMIT): SimFifo<T> => {
  const groups = new Map<string, Group<T>>();
  /** Groups whose head is available, in the order they became available (a FIFO poll's fairness). */
  const ready: Group<T>[] = [];
  let readyHead = 0;
  let inFlight = 0;
  let starved = 0;
  const calls = new Map<SqsAction, number>();
  const listeners: (() => void)[] = [];
  const count = (action: SqsAction): void => {
    calls.set(action, (calls.get(action) ?? 0) + 1);
  };
  const markReady = (group: Group<T>): void => {
    if (group.ready || group.inFlight || group.messages.length === 0) return;
    group.ready = true;
    ready.push(group);
    for (const listener of listeners) listener();
  };
  const takeReady = (): Group<T> | undefined => {
    const group = ready[readyHead];
    if (group === undefined) return undefined;
    readyHead += 1;
    // Compact the list now and then so it does not grow without bound.
    if (readyHead > 4096 && readyHead * 2 > ready.length) {
      ready.splice(0, readyHead);
      readyHead = 0;
    }
    group.ready = false;
    return group;
  };
  const receive = (max: number): SimMessage<T>[] => {
    count('ReceiveMessage');
    const out: SimMessage<T>[] = [];
    while (out.length < max && ready.length > readyHead) {
      if (inFlight >= inFlightLimit) {
        starved += 1;
        break;
      }
      const group = takeReady();
      const head = group?.messages[0];
      if (group === undefined || head === undefined) continue;
      group.inFlight = true;
      inFlight += 1;
      head.receiveCount += 1;
      head.firstReceiveAt ??= loop.now();
      out.push(head);
    }
    return out;
  };
  const release = (group: Group<T>): void => {
    group.inFlight = false;
    inFlight -= 1;
    markReady(group);
  };
  return {
    sendBatch: (entries) => {
      count('SendMessageBatch');
      for (const { group: id, body } of entries) {
        let group = groups.get(id);
        if (group === undefined) {
          group = { messages: [], inFlight: false, ready: false };
          groups.set(id, group);
        }
        group.messages.push({ group: id, body, sentAt: loop.now(), receiveCount: 0 });
        markReady(group);
      }
    },
    receive,
    remove: (message) => {
      count('DeleteMessage');
      const group = groups.get(message.group);
      if (group === undefined || group.messages[0] !== message) throw new Error('not the group head');
      group.messages.shift();
      release(group);
      if (group.messages.length === 0 && !group.inFlight) groups.delete(message.group);
    },
    changeVisibility: (message, seconds) => {
      count('ChangeMessageVisibility');
      const group = groups.get(message.group);
      if (group === undefined) throw new Error('unknown group');
      loop.after(seconds * 1000, () => release(group));
    },
    inFlight: () => inFlight,
    readyGroups: () => ready.length - readyHead,
    starvedReceives: () => starved,
    calls,
    onReady: (listener) => listeners.push(listener),
  };
};
