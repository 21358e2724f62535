/**
 * The documented demo passwords of the seeded users and their bcrypt hashes (bcryptjs, cost 10,
 * computed once: hashing at seed time would take about a minute per 1,000 users). The suite
 * re-verifies each hash against its password.
 */
export const DEMO_PASSWORDS = [
  { password: "password123", hash: "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH." },
  {
    password: "Demo-Passw0rd!",
    hash: "$2a$10$1tR9GWSyH89Phuq9/ivNz.ucjytwFxqg8Ve.zFqPXHqRA1CtFijEy",
  },
  {
    password: "correct horse battery staple",
    hash: "$2a$10$Rlm/TAWMTm7e9aY1oVWS2O7XjGdkqcqgTn1Xg0UYqy6nN85h0IJQG",
  },
] as const;
