// The tenant admin API (SPEC §7), as an outside administrator calls it.
// Methods return the raw response (lib/http.mjs Res) so tests can check
// status codes and problem documents; `must*` helpers assert success.

import { baseUrl, rootToken } from './env.mjs';
import { jsonRequest } from './http.mjs';
import { okJson } from './checks.mjs';

const enc = encodeURIComponent;

export class Admin {
  /** @param {string} [token] bearer token; the operator root token by default */
  constructor(token) {
    this._token = token;
  }

  get token() {
    return this._token ?? rootToken();
  }

  url(path) {
    return `${baseUrl()}/admin/v1${path}`;
  }

  call(method, path, body, opts = {}) {
    return jsonRequest(method, this.url(path), { token: this.token, body, ...opts });
  }

  createTenant(body) {
    return this.call('POST', '/tenants', body);
  }
  getTenant(slug) {
    return this.call('GET', `/tenants/${enc(slug)}`);
  }
  patchTenant(slug, body) {
    return this.call('PATCH', `/tenants/${enc(slug)}`, body);
  }
  createResource(slug, body) {
    return this.call('POST', `/tenants/${enc(slug)}/resources`, body);
  }
  createClient(slug, body) {
    return this.call('POST', `/tenants/${enc(slug)}/clients`, body);
  }
  getClient(slug, clientId) {
    return this.call('GET', `/tenants/${enc(slug)}/clients/${enc(clientId)}`);
  }
  patchClient(slug, clientId, body) {
    return this.call('PATCH', `/tenants/${enc(slug)}/clients/${enc(clientId)}`, body);
  }
  deleteClient(slug, clientId) {
    return this.call('DELETE', `/tenants/${enc(slug)}/clients/${enc(clientId)}`);
  }
  rotateKeys(slug) {
    return this.call('POST', `/tenants/${enc(slug)}/keys/rotate`);
  }
  audit(slug, query = {}) {
    const qs = new URLSearchParams(query).toString();
    return this.call('GET', `/tenants/${enc(slug)}/audit${qs ? `?${qs}` : ''}`);
  }

  async mustCreateTenant(body) {
    return okJson(await this.createTenant(body), 201);
  }
  async mustCreateResource(slug, body) {
    return okJson(await this.createResource(slug, body), 201);
  }
  async mustCreateClient(slug, body) {
    return okJson(await this.createClient(slug, body), 201);
  }
}
