import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { platformEndpoints } from './canvas-platforms.js';
import type { KyselyLtiDatabase } from './kysely-lti-database.js';
import type { LaunchStore, LtiIntegration } from './launch-store.js';
import type { LtijsPlatform, LtijsProvider, LtijsRegistration } from './ltijs-types.js';
import { createPlatformOwners, type PlatformOwners } from './platform-owners.js';

/** ltijs's platform list kept in line with the integrations, and which integration a platform is. */
export interface PlatformRegistry {
  owners: PlatformOwners;
  /** The integrations a pair resolves to; when several registered it, the one that owns it wins. */
  findByPlatform(issuer: string, clientId: string): Promise<LtiIntegration[]>;
  /** Registers or updates one platform; re-creates it when its key pair no longer decrypts. */
  ensurePlatform(i: LtiIntegration): Promise<void>;
  /** Removes ltijs's entry of a pair no integration has. */
  forget(issuer: string, clientId: string): Promise<void>;
  /** Brings ltijs's platform list in line with every integration; removes stale platforms. */
  reconcile(): Promise<void>;
}

export function registrationOf(i: LtiIntegration): LtijsRegistration {
  const ep = platformEndpoints(i.canvasUrl, i.lti);
  return {
    url: ep.issuer,
    name: i.id,
    clientId: i.lti.clientId,
    authenticationEndpoint: ep.authUrl,
    accesstokenEndpoint: ep.tokenUrl,
    authConfig: { method: 'JWK_SET', key: ep.jwksUrl },
  };
}

export function createPlatformRegistry(deps: {
  lti: LtijsProvider;
  plugin: KyselyLtiDatabase;
  launches: LaunchStore;
  db: Kysely<Database>;
  clock: () => Date;
}): PlatformRegistry {
  const { lti, plugin, launches } = deps;
  const owners = createPlatformOwners({ db: deps.db, clock: deps.clock });

  /**
   * ltijs's registerPlatform is check-then-insert: two concurrent calls for one platform would
   * leave its row pointing at one key pair and its key rows holding another. Serialise them, in
   * this process and (on Postgres) across the instances sharing the database.
   */
  let platformQueue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const locked = () => plugin.exclusive(fn);
    const run = platformQueue.then(locked, locked);
    platformQueue = run.catch(() => undefined);
    return run;
  };

  const ensurePlatformNow = async (i: LtiIntegration): Promise<void> => {
    const want = registrationOf(i);
    const have = await lti.getPlatform(want.url, want.clientId);
    if (have) {
      if (!(await keyDecrypts(have))) await have.delete();
      else if (await sameRegistration(have, want)) return;
    }
    await lti.registerPlatform(want);
  };

  return {
    owners,
    async findByPlatform(issuer, clientId) {
      const matches = (await launches.listLtiIntegrations()).filter(
        (i) => i.lti.clientId === clientId && platformEndpoints(i.canvasUrl, i.lti).issuer === issuer,
      );
      if (matches.length < 2) return matches;
      const owner = await owners.holderOf({ issuer, clientId });
      const owned = matches.find((i) => i.id === owner?.integrationId);
      return owned ? [owned] : matches;
    },
    ensurePlatform: (i) => serialised(() => ensurePlatformNow(i)),
    forget: (issuer, clientId) => serialised(async () => void (await lti.deletePlatform(issuer, clientId))),
    reconcile: () =>
      serialised(async () => {
        const wanted = new Set<string>();
        for (const i of await launches.listLtiIntegrations()) {
          const r = registrationOf(i);
          wanted.add(`${r.url}\n${r.clientId}`);
          await ensurePlatformNow(i);
        }
        for (const p of await lti.getAllPlatforms()) {
          if (!wanted.has(`${await p.platformUrl()}\n${await p.platformClientId()}`)) await p.delete();
        }
      }),
  };
}

async function keyDecrypts(have: LtijsPlatform): Promise<boolean> {
  try {
    return Boolean(await have.platformPrivateKey());
  } catch {
    return false;
  }
}

/** True when the registered platform has the wanted name, endpoints and key set. */
async function sameRegistration(have: LtijsPlatform, want: LtijsRegistration): Promise<boolean> {
  const cfg = await have.platformAuthConfig();
  return (
    (await have.platformName()) === want.name &&
    (await have.platformAuthEndpoint()) === want.authenticationEndpoint &&
    (await have.platformAccessTokenEndpoint()) === want.accesstokenEndpoint &&
    cfg.method === want.authConfig.method &&
    cfg.key === want.authConfig.key
  );
}
