/** The C4C protocol client, with no Node-RED in it. */
export * from './auth';
export * from './batch';
export * from './client';
export * from './cookies';
export * from './errors';
export * from './http';
export * from './notification';
export * from './odata';
