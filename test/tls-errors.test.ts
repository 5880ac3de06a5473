// filters/tls/errors.ts: what TLS implementations report, mapped to one code each.
import { describe, expect, it } from 'vitest';
import { alertNameOf, authorizationFailure, toTlsError } from '../filters/tls/errors.js';

describe('received alerts', () => {
  it('are named from Node\'s code, as OpenSSL 3.0 and 3.2+ spell them', () => {
    expect(alertNameOf('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')).toBe('handshake_failure');
    // OpenSSL 3.2 renamed the reasons of alerts SSL 3 and TLS share (Node 24 ships 3.5).
    expect(alertNameOf('ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE')).toBe('handshake_failure');
    expect(alertNameOf('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')).toBe('unknown_ca');
    expect(alertNameOf('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')).toBe('certificate_required');
    expect(alertNameOf('ERR_SSL_NO_SHARED_CIPHER')).toBe(undefined);
    const err = toTlsError(Object.assign(new Error('ssl/tls alert handshake failure'), { code: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE' }), true);
    expect([err.code, err.alert]).toEqual(['ERR_WIRESTACK_TLS_ALERT', 'handshake_failure']);
  });

  it('are named from the message when the alert arrived during a write (Node gives only EPROTO then)', () => {
    // As Node 20 reports it to a server that wrote while the client refused its certificate.
    const written = Object.assign(new Error('write EPROTO 00F8AF1C797F0000:error:0A000418:SSL routines:ssl3_read_bytes:'
      + 'tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1586:SSL alert number 48\n'), { code: 'EPROTO' });
    const err = toTlsError(written, true);
    expect([err.code, err.alert]).toEqual(['ERR_WIRESTACK_TLS_ALERT', 'unknown_ca']);
    expect(alertNameOf('EPROTO', 'write EPROTO …:ssl/tls alert handshake failure:…')).toBe('handshake_failure');
    expect(alertNameOf('EPROTO', 'write EPROTO: wrong version number')).toBe(undefined);
  });
});

describe('the public verdict (authorizationError)', () => {
  it('maps a verify code to its code and OpenSSL\'s message', () => {
    const err = authorizationFailure('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(err.code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    expect(err.message).toBe('tls: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(authorizationFailure('CERT_HAS_EXPIRED').code).toBe('ERR_WIRESTACK_TLS_CERT_EXPIRED');
    expect(authorizationFailure(Object.assign(new Error('certificate is not yet valid'), { code: 'CERT_NOT_YET_VALID' })).code)
      .toBe('ERR_WIRESTACK_TLS_CERT_NOT_YET_VALID');
  });

  it('fails closed on a reason it cannot read', () => {
    for (const reason of [undefined, null, '', 42, {}]) {
      const err = authorizationFailure(reason);
      expect(err.code).toBe('ERR_WIRESTACK_TLS_CERT_INVALID');
      expect(err.message).toMatch(/no verdict/);
    }
    expect(authorizationFailure('SOMETHING_NEW').code).toBe('ERR_WIRESTACK_TLS_CERT_INVALID');
  });
});
