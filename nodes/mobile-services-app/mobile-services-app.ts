/**
 * Config node for one SAP Mobile Services application: the Mobile Services host, the
 * application id, and how pushes authenticate (push service key, Basic with the key's
 * alias, or an OAuth client). Keys and client secrets live only in credentials.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MobileServicesAuth, MobileServicesClient, UsersPlacement } from '../../lib/mobile-services';
import { numberSetting } from '../shared/settings';
import { setOrEmpty, warnUnsetEnv } from '../shared/env';

export type AuthType = 'apiKey' | 'basic' | 'oauth';

export interface MobileServicesAppDef extends NodeDef {
  serverUrl: string;
  appId: string;
  authType: AuthType;
  tokenUrl: string;
  wechatPushUrl: string;
  usersPlacement: UsersPlacement;
  /** Body field naming a push's topic; not confirmed by the reference. */
  topicField?: string;
  tenantId: string;
}

export interface MobileServicesAppCredentials {
  apiKey?: string;
  keyAlias?: string;
  clientId?: string;
  clientSecret?: string;
}

export interface MobileServicesAppNode extends Node<MobileServicesAppCredentials> {
  appId: string;
  /** The application's push client, shared by every node using this application (one token cache). */
  client(): MobileServicesClient;
}

export default function register(RED: NodeAPI): void {
  function MobileServicesApp(this: MobileServicesAppNode, config: MobileServicesAppDef) {
    RED.nodes.createNode(this, config);
    const credentials = this.credentials ?? {};
    warnUnsetEnv(RED, this, 'mobile-services-app.warn.unsetEnv', {
      serverUrl: config.serverUrl,
      appId: config.appId,
      tokenUrl: config.tokenUrl,
      wechatPushUrl: config.wechatPushUrl,
      tenantId: config.tenantId,
      ...credentials,
    });
    this.appId = setOrEmpty(config.appId);
    let client: MobileServicesClient | null = null;
    this.client = () => {
      client ??= new MobileServicesClient({
        serverUrl: setOrEmpty(config.serverUrl).replace(/\/+$/, ''),
        appId: this.appId,
        auth: authOf(config, credentials),
        wechatPushUrl: setOrEmpty(config.wechatPushUrl) || undefined,
        usersPlacement: config.usersPlacement === 'wechat' ? 'wechat' : 'top',
        topicField: /^[A-Za-z_][\w]*$/.test((config.topicField ?? '').trim()) ? (config.topicField ?? '').trim() : 'topic',
        tenantId: setOrEmpty(config.tenantId) || undefined,
        retries: numberSetting(RED, 'mobileServicesAppRetries', 3, 0, 10),
        retryDelayMs: numberSetting(RED, 'mobileServicesAppRetryDelay', 500, 0, 8000),
      });
      return client;
    };
    this.on('close', () => {
      client?.close();
      client = null;
    });
  }

  RED.nodes.registerType<MobileServicesAppNode, MobileServicesAppDef, object, MobileServicesAppCredentials>('mobile-services-app', MobileServicesApp, {
    credentials: {
      apiKey: { type: 'password' },
      keyAlias: { type: 'text' },
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
    },
    settings: {
      mobileServicesAppRetries: { value: 3, exportable: false },
      mobileServicesAppRetryDelay: { value: 500, exportable: false },
    },
  });
}

function authOf(config: MobileServicesAppDef, credentials: MobileServicesAppCredentials): MobileServicesAuth {
  if (config.authType === 'basic') return { kind: 'basic', alias: setOrEmpty(credentials.keyAlias), key: setOrEmpty(credentials.apiKey) };
  if (config.authType === 'oauth') {
    return { kind: 'oauth', tokenUrl: setOrEmpty(config.tokenUrl), clientId: setOrEmpty(credentials.clientId), clientSecret: setOrEmpty(credentials.clientSecret) };
  }
  return { kind: 'apiKey', apiKey: setOrEmpty(credentials.apiKey) };
}
