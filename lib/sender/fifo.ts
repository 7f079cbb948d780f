/**
 * FIFO group policy, apart from the loop that applies it (as Powertools' SqsFifoProcessor keeps its own):
 * which group a record belongs to, and which records go back when one of a group cannot be done now.
 */
import { decodeStep, groupIdOf } from '../queue/codec.ts';
import type { ConsumerRecord } from './record.ts';

/** The record's FIFO group: the attribute, else the decoded step's, else its own (a poison body). */
export const groupOf = (record: ConsumerRecord): string => {
  const attribute = record.attributes.MessageGroupId;
  if (attribute) return attribute;
  const decoded = decodeStep(record.body);
  return decoded.ok ? groupIdOf(decoded.step.pageId, decoded.step.psid) : `record:${record.messageId}`;
};

/** The batch's records by group, each group in arrival (= FIFO) order. */
export const groupRecords = (records: readonly ConsumerRecord[]): Map<string, ConsumerRecord[]> => {
  const groups = new Map<string, ConsumerRecord[]>();
  for (const record of records) {
    const group = groupOf(record);
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  return groups;
};

/**
 * A record that is not done holds back every later record of its group, whatever their own state: FIFO
 * order. Lambda leaves returned records invisible for the rest of their visibility timeout (AWS Lambda
 * Developer Guide, SQS FIFO + partial batch responses), so the caller sets theirs to the head's: they come
 * back together, in order.
 */
export const returnedFrom = (members: readonly ConsumerRecord[], position: number): ConsumerRecord[] =>
  members.slice(position);
