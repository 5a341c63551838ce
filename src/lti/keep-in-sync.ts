interface Writable<C, P, I> {
  get(id: string): Promise<I | undefined>;
  create(input: C): Promise<I>;
  update(id: string, patch: P, ...rest: never[]): Promise<I | undefined>;
  delete(id: string): Promise<boolean>;
}

/**
 * Wraps an integrations repository so that creating, changing (the `lti` registration or the
 * Canvas URL) or deleting an integration brings ltijs's platform list in line BEFORE the call
 * returns: a registration that was saved has its platform and key pair, so `/lti/keys` serves the
 * integration's key from the moment the save answers (Canvas may fetch it right away).
 * `sync` is called lazily, so a process that never saves an LTI registration never loads ltijs.
 * @throws whatever `sync` throws: the integration is saved but its platform is not (the next save,
 * the next start or the next login from that platform registers it again).
 */
export function keepLtiInSync<R extends Writable<C, P, I>, C, P extends object, I extends { id: string; lti?: unknown }>(
  repo: R,
  sync: (integrationId: string) => Promise<void>,
): R {
  return Object.assign(Object.create(repo) as R, {
    async create(input: C) {
      const created = await repo.create(input);
      if ((input as { lti?: unknown }).lti) await sync(created.id);
      return created;
    },
    async update(id: string, patch: P, ...rest: never[]) {
      const updated = await repo.update(id, patch, ...rest);
      if (updated && ('lti' in patch || ('canvasUrl' in patch && updated.lti))) await sync(id);
      return updated;
    },
    async delete(id: string) {
      const hadLti = Boolean((await repo.get(id))?.lti);
      const existed = await repo.delete(id);
      if (existed && hadLti) await sync(id);
      return existed;
    },
  });
}
