import type { Kysely } from 'kysely';

/**
 * `lti_platform_owners`: which integration an LTI (issuer, client id) pair belongs to. The primary
 * key makes a second registration of a pair impossible, so one institution cannot make another's
 * launches ambiguous. `proven_by` records how ownership was shown ('launch' or 'staff'; null while
 * only registered).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lti_platform_owners')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('proven_by', 'text')
    .addColumn('proven_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lti_platform_owners_pk', ['issuer', 'client_id'])
    .execute();
  await db.schema.createIndex('lti_platform_owners_integration').on('lti_platform_owners').column('integration_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lti_platform_owners').execute();
}
