/** Treasury webhooks (docs/webhooks.md). */
export { WebhookDispatcher, webhookTargets, targetKey, type WebhookTarget, type WebhookDispatcherOptions, type WebhookTargetStats } from './dispatcher.js'
export { TreasuryEvents, type TreasuryEventsOptions } from './treasury.js'
export { SIGNATURE_HEADER, signBody, verifySignature } from './signature.js'
export { WEBHOOK_EVENTS, buildEvent, blockEvent, payoutEvent, snapshotEvent, money, type WebhookEventType, type BalanceSnapshot } from './events.js'
