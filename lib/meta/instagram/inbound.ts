/**
 * Instagram Messaging: `"object": "instagram"` webhooks carry `entry[].messaging[]` in the Messenger shape
 * (Meta, Instagram Messaging → Webhooks), with Instagram-scoped user ids (IGSIDs) as senders and the
 * Instagram professional account id as recipient and entry id. Echoes (`is_echo`), unsent messages
 * (`is_deleted`), reactions, postbacks (ice breakers), referrals and reads read exactly as on Messenger;
 * story mentions, story replies, shared reels (`ig_reel`), shares and the like-heart sticker arrive as
 * attachments and are kept with their type.
 */
import type { ChannelParser } from '../inbound-channel.ts';
import { messagingEntryParser } from '../messenger/messaging.ts';

export const instagram: ChannelParser = {
  object: 'instagram',
  parseEntry: messagingEntryParser('instagram'),
};
