import type { RequestHandler } from 'express';
import type { LtijsLaunchToken } from './launch-claims.js';

/**
 * The slice of the ltijs 5.9 Provider singleton we use. @types/ltijs lags v5 (no appUrl/loginUrl
 * aliases, `close()` without options), so we type what we call ourselves.
 */
export interface LtijsPlatform {
  platformUrl(): Promise<string>;
  platformClientId(): Promise<string>;
  platformName(): Promise<string>;
  platformAuthEndpoint(): Promise<string>;
  platformAccessTokenEndpoint(): Promise<string>;
  platformAuthConfig(): Promise<{ method: string; key: string }>;
  platformPrivateKey(): Promise<string | false>;
  delete(): Promise<unknown>;
}

export interface LtijsRegistration {
  url: string;
  name: string;
  clientId: string;
  authenticationEndpoint: string;
  accesstokenEndpoint: string;
  authConfig: { method: 'JWK_SET'; key: string };
}

type Cb = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]) => unknown;

export interface LtijsProvider {
  app: RequestHandler;
  Database: { Get(key: string | false, table: string, info?: Record<string, unknown>): Promise<Array<Record<string, unknown>> | false> };
  NamesAndRoles: {
    getMembers(token: LtijsLaunchToken, options?: { resourceLinkId?: boolean; pages?: number | false; limit?: number }): Promise<{ members: Array<Record<string, unknown>> }>;
  };
  setup(key: string, database: { plugin: unknown }, options: Record<string, unknown>): LtijsProvider;
  deploy(options: { serverless: true; silent: true }): Promise<true>;
  close(options?: { silent: boolean }): Promise<true>;
  onConnect(cb: (token: LtijsLaunchToken, ...rest: Parameters<Cb>) => unknown): true;
  onInvalidToken(cb: Cb): true;
  onSessionTimeout(cb: Cb): true;
  onUnregisteredPlatform(cb: Cb): true;
  onInactivePlatform(cb: Cb): true;
  registerPlatform(p: LtijsRegistration): Promise<LtijsPlatform>;
  getPlatform(url: string, clientId: string): Promise<LtijsPlatform | false>;
  getAllPlatforms(): Promise<LtijsPlatform[]>;
  deletePlatform(url: string, clientId: string): Promise<true>;
}
