// ltijs-sequelize ships no types; this is the part src/lti/ uses.
declare module 'ltijs-sequelize' {
  export default class Database {
    constructor(database: string, user: string, pass: string, options: Record<string, unknown>);
    db: { authenticate(): Promise<void>; close(): Promise<void> };
    setup(): Promise<boolean>;
    Close(): Promise<boolean>;
    Get(encryptionKey: string | false, table: string, info?: Record<string, unknown>): Promise<Array<Record<string, unknown>> | false>;
  }
}
