// Plurals in the page's language: the page gives a text's two gettext forms (ngettext with 1 and 2), and
// the language's CLDR rule (Intl.PluralRules) picks one: "1 peer" / "2 peers", "0 pair" / "2 pairs".
import { fillPlaceholders } from "./util.js";

const rules = new Intl.PluralRules(document.documentElement.lang || "en");

/** `one` for counts the page's language treats as singular, else `other`; %(num)s becomes the count. */
export function plural(one, other, n) {
  return fillPlaceholders(rules.select(n) === "one" ? one : other, { num: n });
}
