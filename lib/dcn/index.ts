/**
 * The WF-DCN hub's one entry: the vocabulary, the request contract, the data cache,
 * the device registry, the processor and the hub, the outbox and its delivery worker
 * (../../README.md "WF-DCN hub").
 */
export * from './types';
export * from './request';
export * from './cache';
export * from './registry';
export * from './processor';
export * from './hub';
export * from './outbox';
export * from './delivery';
