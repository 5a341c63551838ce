import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { Integration } from './integration.js';
import type { IntegrationsRepository } from './integrations-repository.js';
import type { LinkPurpose, SignedLinks } from './signed-links.js';

/** Where an action came from, when the audit entry should say so (`cli`, `authorization-link`). */
export interface LinkActor {
  label: string;
  via?: string;
}

export interface IntegrationLinks {
  /**
   * Issues a signed setup or authorization link for an integration and audits it
   * (`setup_link.created` / `authorization_link.created`). An authorization link needs the
   * client secret: without it Canvas's token exchange could only fail.
   * @throws AppError not_found; validation_failed (`clientSecret`) for an authorization link without a secret
   */
  issue(purpose: LinkPurpose, integrationId: string, actor: LinkActor): Promise<{ url: string; expiresAt: string }>;
  /**
   * The integration a signed link is for. Opening a setup link is audited (`setup_link.opened`);
   * an authorization link is audited when the authorization starts.
   * @throws AppError forbidden (invalid or expired link), not_found (integration deleted since)
   */
  open(purpose: LinkPurpose, token: string): Promise<Integration>;
  /**
   * Starts Generate Keys (the connection service's authorization) and audits `authorization.started`.
   * @throws AppError as the connection service's `startAuthorization`
   */
  startAuthorization(integrationId: string, browserSecret: string, actor: LinkActor): Promise<{ url: string }>;
}

const LINK_NAME: Record<LinkPurpose, string> = { setup: 'setup link', authorize: 'authorization link' };

/**
 * Setup and authorization links, and the start of Generate Keys, for every entry point (pages,
 * JSON API, CLI, the link landing pages), each with its audit entry.
 */
export function createIntegrationLinks(deps: {
  repo: Pick<IntegrationsRepository, 'get'>;
  signedLinks: Pick<SignedLinks, 'issue' | 'verify'>;
  audit: AuditLog;
  startAuthorization: (integrationId: string, browserSecret: string) => Promise<{ url: string }>;
}): IntegrationLinks {
  const { repo, signedLinks, audit } = deps;
  const via = (actor: LinkActor) => (actor.via ? { via: actor.via } : {});
  return {
    async issue(purpose, integrationId, actor) {
      const i = await repo.get(integrationId);
      if (!i) throw new AppError('not_found', 'No such integration.');
      if (purpose === 'authorize' && !i.clientSecretSet) {
        throw new AppError('validation_failed', 'clientSecret: save the client secret first', { details: { field: 'clientSecret' } });
      }
      const link = signedLinks.issue(purpose, integrationId);
      const detail = { ...via(actor), expiresAt: link.expiresAt };
      if (purpose === 'setup') await audit.record({ integrationId, actor: actor.label, action: 'setup_link.created', detail });
      else await audit.record({ integrationId, actor: actor.label, action: 'authorization_link.created', detail });
      return link;
    },

    async open(purpose, token) {
      const id = signedLinks.verify(purpose, token);
      if (!id) throw new AppError('forbidden', `This ${LINK_NAME[purpose]} is invalid or has expired.`, { help: 'Ask the platform team for a new link.' });
      const integration = await repo.get(id);
      if (!integration) throw new AppError('not_found', 'This integration no longer exists.');
      if (purpose === 'setup') await audit.record({ integrationId: id, actor: `admin-link:${id}`, action: 'setup_link.opened' });
      return integration;
    },

    async startAuthorization(integrationId, browserSecret, actor) {
      const started = await deps.startAuthorization(integrationId, browserSecret);
      await audit.record({ integrationId, actor: actor.label, action: 'authorization.started', ...(actor.via ? { detail: via(actor) } : {}) });
      return started;
    },
  };
}
