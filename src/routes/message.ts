/** Answers that only say what happened; the document shows the same words. */
export const MESSAGES = {
  codeResent: "If this address is registered and not yet verified, a new code is on its way.",
  resetCodeSent: "If this address has an account, a code to reset its password is on its way.",
  passwordReset: "Password reset. Every session has ended: log in with the new password.",
  deletionCancelled: "Deletion cancelled: the account is as it was. Sign in as usual.",
} as const;
