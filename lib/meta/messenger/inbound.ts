/** Messenger: Page webhooks (`"object": "page"`), the Messenger Platform `messaging[]` shape. */
import type { ChannelParser } from '../inbound-channel.ts';
import { messagingEntryParser } from './messaging.ts';

export const messenger: ChannelParser = { object: 'page', parseEntry: messagingEntryParser('messenger') };
