// ltijs ships no types for its shared HTTP client (a got 11 instance); this is the part src/lti/ uses.
declare module 'ltijs/dist/Utils/Http.js' {
  type Method = (url: string | URL, options?: Record<string, unknown>) => Promise<unknown>;
  interface GotLike {
    extend(options: Record<string, unknown>): GotLike;
    get: Method;
    post: Method;
    put: Method;
    patch: Method;
    head: Method;
    delete: Method;
  }
  const http: GotLike;
  export default http;
}
