// bcrypt, for the hashes imported from the old service: an object, so that a test can count its calls.
import { compare } from "bcryptjs";

export const bcrypt = {
  compare: (password: string, encoded: string): Promise<boolean> => compare(password, encoded),
};
