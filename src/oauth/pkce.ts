import * as client from 'openid-client';

/** A PKCE S256 pair: the verifier kept server-side and the challenge sent to Canvas. */
export interface PkcePair {
  codeVerifier: string;
  codeChallenge: string;
}

/**
 * A fresh PKCE S256 verifier and its challenge. Lives in oauth/ so that only the protocol adapter
 * imports openid-client; the Generate Keys flow asks for a pair and stores the verifier.
 */
export async function newPkcePair(): Promise<PkcePair> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  return { codeVerifier, codeChallenge };
}
