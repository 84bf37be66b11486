// The suite is black-box: it knows only the base URL of a running authzd and
// the operator's root token. Both are required; without them every test fails
// (it does not skip), so a misconfigured run can never look green.

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run the conformance suite with AUTHZ_BASE_URL ` +
        `(e.g. http://127.0.0.1:8080) and AUTHZ_ROOT_TOKEN (from \`authzctl root-token\`)`,
    );
  }
  return v;
}

export function baseUrl() {
  return required('AUTHZ_BASE_URL').replace(/\/+$/, '');
}

export function rootToken() {
  return required('AUTHZ_ROOT_TOKEN');
}

export function issuerFor(slug) {
  return `${baseUrl()}/t/${slug}`;
}
