// Owns the declarations of the scoring API's requests: the envelope and each method's arguments.
import {
  argumentsField,
  birthdayField,
  charField,
  clientIdsField,
  dateField,
  emailField,
  genderField,
  phoneField,
  tokenField,
} from './fields/fields.ts';
import { declareRequest, type Values } from './fields/request.ts';

const optional = { required: false, nullable: true } as const;

/** The methods /method serves, by the name the envelope's `method` gives. */
export const SCORING_METHODS = ['online_score', 'clients_interests'] as const;
export type ScoringMethod = (typeof SCORING_METHODS)[number];

export const methodRequest = declareRequest({
  account: charField(optional),
  login: charField({ required: true, nullable: true }),
  token: tokenField({ required: true, nullable: true }),
  arguments: argumentsField({ required: true, nullable: true }),
  method: charField({ required: true, nullable: false }),
});

const onlineScoreFields = {
  phone: phoneField(optional),
  email: emailField(optional),
  first_name: charField(optional),
  last_name: charField(optional),
  birthday: birthdayField(optional),
  gender: genderField(optional),
};

export const SCORE_PAIRS = [
  ['phone', 'email'],
  ['first_name', 'last_name'],
  ['gender', 'birthday'],
] as const;

export const onlineScoreRequest = declareRequest(onlineScoreFields, [
  (values) =>
    SCORE_PAIRS.some(([a, b]) => values[a] !== null && values[b] !== null)
      ? null
      : `arguments: at least one pair must be non-empty: ${SCORE_PAIRS.map((p) => p.join('+')).join(', ')}`,
]);

export type OnlineScoreArguments = Values<typeof onlineScoreFields>;

export const clientsInterestsRequest = declareRequest({
  client_ids: clientIdsField({ required: true, nullable: false }),
  date: dateField(optional),
});
