import type { Logger } from '../logger/logger.js';

interface Writable<C, P, I> {
  create(input: C): Promise<I>;
  update(id: string, patch: P, ...rest: never[]): Promise<I | undefined>;
  delete(id: string): Promise<boolean>;
}

/**
 * Wraps an integrations repository so that creating, changing (the `lti` registration or the
 * Canvas URL) or deleting an integration brings ltijs's platform list in line. The sync runs in the
 * background: registering a new platform generates a 4096-bit key pair, and a launch re-checks its
 * platform at login anyway, so the caller need not wait.
 */
export function keepLtiInSync<R extends Writable<C, P, I>, C, P extends object, I extends { id: string }>(
  repo: R,
  sync: (integrationId: string) => Promise<void>,
  logger: Logger,
): R {
  const later = (id: string) => {
    void sync(id).catch((err: unknown) => logger.error({ err, integrationId: id }, 'keeping LTI platforms in sync failed'));
  };
  return Object.assign(Object.create(repo) as R, {
    async create(input: C) {
      const created = await repo.create(input);
      if ((input as { lti?: unknown }).lti) later(created.id);
      return created;
    },
    async update(id: string, patch: P, ...rest: never[]) {
      const updated = await repo.update(id, patch, ...rest);
      if (updated && ('lti' in patch || 'canvasUrl' in patch)) later(id);
      return updated;
    },
    async delete(id: string) {
      const existed = await repo.delete(id);
      if (existed) later(id);
      return existed;
    },
  });
}
