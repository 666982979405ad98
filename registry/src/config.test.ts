import { describe, expect, it } from 'vitest';
import { ConfigError, parseRegistryConfig, usage } from './config.js';

/** Identity variables are checked separately below; the rest of the tests run with a directory set. */
const withId = (env: Record<string, string>): Record<string, string> => ({ NSM_IDENTITY_DIR: '/id', ...env });
const issuer = {
  url: '',
  tokenFile: '/var/run/secrets/nsm-issuer/token',
  caFile: '/var/run/nsm-trust/bundle.pem',
};
const security = { identityDir: '/id', workloadApi: '', issuer, insecure: false, authorize: true };

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    parseRegistryConfig(withId(env));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('parseRegistryConfig', () => {
  it('has upstream defaults', () => {
    expect(parseRegistryConfig(withId({}))).toEqual({
      name: 'registry',
      listenOn: ['tcp://0.0.0.0:5002'],
      logLevel: 'info',
      expirePeriodMs: 60_000,
      maxTokenLifetimeMs: 600_000,
      security,
      backend: 'memory',
      namespace: 'default',
      metricsAddr: '',
    });
  });

  it('reads the store backend and its namespace, refusing what is neither', () => {
    expect(
      parseRegistryConfig(withId({ NSM_REGISTRY_BACKEND: 'k8s', NSM_NAMESPACE: 'nsm-system' })),
    ).toMatchObject({
      backend: 'k8s',
      namespace: 'nsm-system',
    });
    expect(problemsOf({ NSM_REGISTRY_BACKEND: 'etcd' })).toEqual([
      'NSM_REGISTRY_BACKEND="etcd" is not a registry backend; expected memory or k8s',
    ]);
    expect(problemsOf({ NSM_NAMESPACE: 'NSM_System' })).toEqual([
      'NSM_NAMESPACE="NSM_System" is not a Kubernetes namespace name: expected a lowercase RFC 1123 label',
    ]);
  });

  it('treats empty variables as unset', () => {
    expect(
      parseRegistryConfig(
        withId({ NSM_NAME: '', NSM_LISTEN_ON: ' ', NSM_EXPIRE_PERIOD: '', NSM_LOG_LEVEL: '' }),
      ),
    ).toEqual(parseRegistryConfig(withId({})));
  });

  it('reads every setting', () => {
    expect(
      parseRegistryConfig({
        NSM_NAME: 'reg-1',
        NSM_LISTEN_ON: 'tcp://127.0.0.1:5002, unix:///run/nsm/registry.sock,',
        NSM_EXPIRE_PERIOD: '1m30s',
        NSM_LOG_LEVEL: 'DEBUG',
        NSM_MAX_TOKEN_LIFETIME: '2m',
        SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/agent.sock',
        NSM_AUTHORIZE: 'false',
        NSM_REGISTRY_BACKEND: 'K8S',
        NSM_NAMESPACE: 'nsm-system',
        NSM_METRICS_ADDR: '127.0.0.1:9090',
      }),
    ).toEqual({
      name: 'reg-1',
      listenOn: ['tcp://127.0.0.1:5002', 'unix:///run/nsm/registry.sock'],
      logLevel: 'debug',
      expirePeriodMs: 90_000,
      maxTokenLifetimeMs: 120_000,
      security: {
        identityDir: '',
        workloadApi: 'unix:///run/spire/agent.sock',
        issuer,
        insecure: false,
        authorize: false,
      },
      backend: 'k8s',
      namespace: 'nsm-system',
      metricsAddr: '127.0.0.1:9090',
    });
  });

  it('refuses a bad NSM_METRICS_ADDR, naming the variable, the value and the form', () => {
    expect(problemsOf({ NSM_METRICS_ADDR: '127.0.0.1:123456' })).toEqual([
      'NSM_METRICS_ADDR="127.0.0.1:123456": port 123456 is out of range; expected host:port, e.g. 127.0.0.1:9090 or [::1]:9090, with a port from 0 to 65535',
    ]);
    expect(problemsOf({ NSM_METRICS_ADDR: '9090' })[0]).toMatch(
      /^NSM_METRICS_ADDR="9090": no port; expected host:port/,
    );
  });

  it('maps upstream log level spellings', () => {
    expect(parseRegistryConfig(withId({ NSM_LOG_LEVEL: 'Warning' })).logLevel).toBe('warn');
    expect(parseRegistryConfig(withId({ NSM_LOG_LEVEL: 'panic' })).logLevel).toBe('fatal');
  });

  it('rejects a bad URL, naming it', () => {
    expect(problemsOf({ NSM_LISTEN_ON: 'tcp://0.0.0.0:5002,http://x:1' })).toEqual([
      expect.stringMatching(/NSM_LISTEN_ON: bad URL "http:\/\/x:1": expected unix:/),
    ]);
    expect(problemsOf({ NSM_LISTEN_ON: 'unix://relative.sock' })[0]).toMatch(/absolute/);
    expect(problemsOf({ NSM_LISTEN_ON: ',,' })[0]).toMatch(/names no URL/);
  });

  it('rejects bad durations with the accepted forms', () => {
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '10' })[0]).toMatch(
      /NSM_EXPIRE_PERIOD: bad duration "10": "10" has no unit; expected .* e\.g\. 250ms/,
    );
    expect(problemsOf({ NSM_EXPIRE_PERIOD: 'soon' })[0]).toMatch(/bad duration "soon"/);
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '0s' })[0]).toMatch(/must be longer than zero/);
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '-1m' })[0]).toMatch(/negative/);
  });

  it('rejects an unknown log level', () => {
    expect(problemsOf({ NSM_LOG_LEVEL: 'loud' })[0]).toMatch(/NSM_LOG_LEVEL="loud" is not a log level/);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ NSM_LISTEN_ON: 'nope', NSM_EXPIRE_PERIOD: 'x', NSM_LOG_LEVEL: 'y' });
    expect(problems).toHaveLength(3);
    const err = new ConfigError(problems);
    expect(err.message).toMatch(/^bad configuration:\n {2}- NSM_LISTEN_ON/);
  });

  it('needs an identity unless told to run insecure, and reads booleans strictly', () => {
    expect(() => parseRegistryConfig({})).toThrow(
      /no identity for mTLS: set NSM_IDENTITY_DIR .*, SPIFFE_ENDPOINT_SOCKET .* or NSM_ISSUER_URL .*, or NSM_INSECURE=true/,
    );
    expect(parseRegistryConfig({ NSM_INSECURE: 'true' }).security.insecure).toBe(true);
    expect(problemsOf({ NSM_INSECURE: 'maybe' })[0]).toBe('NSM_INSECURE="maybe": expected true or false');
  });

  it('documents every variable in the usage text', () => {
    for (const key of [
      'NSM_NAME',
      'NSM_LISTEN_ON',
      'NSM_EXPIRE_PERIOD',
      'NSM_LOG_LEVEL',
      'NSM_IDENTITY_DIR',
      'SPIFFE_ENDPOINT_SOCKET',
      'NSM_INSECURE',
      'NSM_AUTHORIZE',
      'NSM_REGISTRY_BACKEND',
      'NSM_NAMESPACE',
    ])
      expect(usage).toContain(key);
    expect(usage).toContain('default 1m');
  });
});
