/** The SAP Mobile Services push client (Micro App and generic v2 push), with no Node-RED in it. */
export * from './auth';
export * from './client';
export * from './errors';
export * from './micro-app';
export * from './push';
export * from './reply-push';
