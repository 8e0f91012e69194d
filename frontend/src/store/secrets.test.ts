import { describe, expect, it } from 'vitest';
import { missingSecretProblems, secretRefs } from './secrets';

describe('secret references', () => {
  it('finds names in nested params, both forms, only inside {{ }}', () => {
    const refs = secretRefs({
      command: 'curl -H "Authorization: Bearer {{ secrets.API_TOKEN }}" {{ secrets["HOST"] }}',
      env: { A: "{{secrets['X_1']}}", B: 'secrets.NOT_A_REF' },
      list: ['{{ nodes.a.output.secrets.NOPE }}'],
    });
    expect([...refs].sort()).toEqual(['API_TOKEN', 'HOST', 'X_1']);
  });

  it('reports only the names the project lacks, per node', () => {
    const nodes = [
      { id: 'a', data: { params: { command: 'echo {{ secrets.HAVE }} {{ secrets.LACK }}' } } },
      { id: 'b', data: { params: {} } },
    ];
    const got = missingSecretProblems(nodes, new Set(['HAVE']));
    expect(got.map((p) => [p.node, p.name])).toEqual([['a', 'LACK']]);
  });
});
