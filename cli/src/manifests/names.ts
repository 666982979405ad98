/** Name and label rules shared by the manifest kinds. */
import { compileTemplate, labelKeyProblem, validateKubernetesLabels } from '@nsm-ts/sdk/tools';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const interfaceName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The longest Linux interface name (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

/** Why `name` is not a DNS-1123 label (a Kubernetes object name), or undefined when it is. */
export function dnsLabelProblem(name: string, what: string): string | undefined {
  if (name.length <= 63 && dnsLabel.test(name)) return undefined;
  return (
    `${what} ${JSON.stringify(name)} is not a valid name; expected a DNS-1123 label: ` +
    `1-63 lower-case letters, digits and "-", starting and ending with a letter or digit`
  );
}

/** Why `name` cannot be a Linux interface name, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length > 0 && name.length <= MAX_IFNAME && interfaceName.test(name)) return undefined;
  return (
    `interface name ${JSON.stringify(name)} is ${name.length > MAX_IFNAME ? `${name.length} characters long` : 'invalid'}; ` +
    `expected 1-${MAX_IFNAME} characters of [A-Za-z0-9_.-] starting with a letter or digit`
  );
}

/** Problems of a label map whose keys and values must both be valid Kubernetes labels. */
export function labelProblems(labels: Readonly<Record<string, string>>, what: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    try {
      validateKubernetesLabels(what, { [key]: value });
    } catch (err) {
      // Our messages read "what is wrong; expected ...".
      problems.push((err as Error).message.replace(': expected', '; expected'));
    }
  }
  return problems;
}

/** Problems of a selector: keys are label keys, values may be templates such as `{{.nodeName}}`. */
export function selectorProblems(selector: Readonly<Record<string, string>>, what: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(selector)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem)
      problems.push(`${what}: ${keyProblem.replace(' is invalid: ', ' is invalid; expected: ')}`);
    try {
      compileTemplate(value);
    } catch (err) {
      problems.push(
        `${what}[${JSON.stringify(key)}]: ${(err as Error).message}; expected a label value or a template such as {{.nodeName}}`,
      );
    }
  }
  return problems;
}
