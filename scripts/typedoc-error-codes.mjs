// A TypeDoc plugin (typedoc.json loads it): each member of ERROR_CODES is
// described by its value, the meaning that the README's table of codes shows
// too, so that the one string stays the only place a code is explained.
import { Comment, Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const codes = context.project.getChildByName(['wirestack', 'ERROR_CODES']);
    const members = codes?.type?.type === 'reflection' ? codes.type.declaration.children ?? [] : [];
    for (const member of members) {
      if (member.kindOf(ReflectionKind.Property) && !member.comment && member.type?.type === 'literal') {
        member.comment = new Comment([{ kind: 'text', text: String(member.type.value) }]);
      }
    }
  });
}
