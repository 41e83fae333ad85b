// Clerk's own JS SDK (@clerk/backend) drives user and organization lifecycles against
// FakeClerk. Run by tests/test_fake_js_sdk.py:
//   CLERK_API_URL=http://127.0.0.1:PORT CLERK_SECRET_KEY=sk_test_... node tests/js/lifecycle.mjs
// Prints one JSON line per step: {step, ok, value} (what the SDK gave back, as plain data)
// or {step, ok: false, status, error}. Every step runs, whatever the ones before did.
import { createClerkClient } from "@clerk/backend";

const clerk = createClerkClient({
  secretKey: process.env.CLERK_SECRET_KEY,
  apiUrl: process.env.CLERK_API_URL,
});

async function step(name, run) {
  try {
    const value = await run();
    console.log(JSON.stringify({ step: name, ok: true, value: value ?? null }));
    return value;
  } catch (error) {
    const status = error?.status ?? null;
    const code = error?.errors?.[0]?.code ?? null;
    const message = String(error?.stack ?? error).slice(0, 600);
    console.log(JSON.stringify({ step: name, ok: false, status, code, error: message }));
    return null;
  }
}

const user = (u) => ({
  id: u.id,
  firstName: u.firstName,
  lastName: u.lastName,
  banned: u.banned,
  locked: u.locked,
  emails: u.emailAddresses.map((e) => e.emailAddress),
  primaryEmail: u.primaryEmailAddress?.emailAddress ?? null,
  verification: u.emailAddresses[0]?.verification?.status ?? null,
  publicMetadata: u.publicMetadata,
});
const org = (o) => ({ id: o.id, name: o.name, slug: o.slug, membersCount: o.membersCount ?? null });
const membership = (m) => ({
  id: m.id,
  role: m.role,
  organizationId: m.organization.id,
  userId: m.publicUserData.userId,
  identifier: m.publicUserData.identifier,
  publicMetadata: m.publicMetadata,
});
// A list the spec answers as a plain array (invitations) comes back as the array itself.
const page = (p, each) =>
  Array.isArray(p)
    ? { totalCount: null, data: p.map(each) }
    : { totalCount: p.totalCount, data: p.data.map(each) };

// --- users ---------------------------------------------------------------------------
const ada = await step("users.createUser", async () =>
  user(
    await clerk.users.createUser({
      emailAddress: ["ada@example.com"],
      firstName: "Ada",
      lastName: "Lovelace",
      password: "correct horse battery staple",
    }),
  ),
);
const adaId = ada?.id ?? "user_missing";
await step("users.getUser", async () => user(await clerk.users.getUser(adaId)));
await step("users.updateUser", async () =>
  user(await clerk.users.updateUser(adaId, { firstName: "Augusta" })),
);
await step("users.updateUserMetadata", async () =>
  user(await clerk.users.updateUserMetadata(adaId, { publicMetadata: { plan: "pro" } })),
);
await step("users.getUserList", async () =>
  page(await clerk.users.getUserList({ emailAddress: ["ada@example.com"] }), user),
);
await step("users.getCount", async () => await clerk.users.getCount());
const bob = await step("users.createUser(bob)", async () =>
  user(await clerk.users.createUser({ emailAddress: ["bob@example.com"], firstName: "Bob" })),
);
const bobId = bob?.id ?? "user_missing";

// --- organizations and memberships (the 7 membership methods) -------------------------
const acme = await step("organizations.createOrganization", async () =>
  org(await clerk.organizations.createOrganization({ name: "Acme", createdBy: adaId })),
);
const acmeId = acme?.id ?? "org_missing";
await step("organizations.getOrganization", async () =>
  org(await clerk.organizations.getOrganization({ organizationId: acmeId })),
);
await step("organizations.updateOrganization", async () =>
  org(await clerk.organizations.updateOrganization(acmeId, { name: "Acme Corp" })),
);
await step("organizations.getOrganizationList", async () =>
  page(await clerk.organizations.getOrganizationList({ query: "Acme" }), org),
);
await step("organizations.createOrganizationMembership", async () =>
  membership(
    await clerk.organizations.createOrganizationMembership({
      organizationId: acmeId,
      userId: bobId,
      role: "org:member",
    }),
  ),
);
await step("organizations.getOrganizationMembershipList", async () =>
  page(
    await clerk.organizations.getOrganizationMembershipList({ organizationId: acmeId }),
    membership,
  ),
);
await step("organizations.getInstanceOrganizationMembershipList", async () =>
  page(await clerk.organizations.getInstanceOrganizationMembershipList({}), membership),
);
await step("organizations.updateOrganizationMembership", async () =>
  membership(
    await clerk.organizations.updateOrganizationMembership({
      organizationId: acmeId,
      userId: bobId,
      role: "org:admin",
    }),
  ),
);
await step("organizations.updateOrganizationMembershipMetadata", async () =>
  membership(
    await clerk.organizations.updateOrganizationMembershipMetadata({
      organizationId: acmeId,
      userId: bobId,
      publicMetadata: { team: "core" },
    }),
  ),
);
await step("users.getOrganizationMembershipList", async () =>
  page(await clerk.users.getOrganizationMembershipList({ userId: bobId }), membership),
);
await step("organizations.deleteOrganizationMembership", async () =>
  membership(
    await clerk.organizations.deleteOrganizationMembership({
      organizationId: acmeId,
      userId: bobId,
    }),
  ),
);

// --- invitations ------------------------------------------------------------------------
const invitation = (i) => ({ id: i.id, emailAddress: i.emailAddress, status: i.status });
const invited = await step("invitations.createInvitation", async () =>
  invitation(await clerk.invitations.createInvitation({ emailAddress: "cy@example.com" })),
);
await step("invitations.getInvitationList", async () =>
  page(await clerk.invitations.getInvitationList({ status: "pending" }), invitation),
);
await step("invitations.revokeInvitation", async () =>
  invitation(await clerk.invitations.revokeInvitation(invited?.id ?? "inv_missing")),
);
const orgInvitation = (i) => ({
  id: i.id,
  emailAddress: i.emailAddress,
  role: i.role,
  status: i.status,
  organizationId: i.organizationId,
});
const orgInvited = await step("organizations.createOrganizationInvitation", async () =>
  orgInvitation(
    await clerk.organizations.createOrganizationInvitation({
      organizationId: acmeId,
      inviterUserId: adaId,
      emailAddress: "dee@example.com",
      role: "org:member",
    }),
  ),
);
await step("organizations.getOrganizationInvitation", async () =>
  orgInvitation(
    await clerk.organizations.getOrganizationInvitation({
      organizationId: acmeId,
      invitationId: orgInvited?.id ?? "orginv_missing",
    }),
  ),
);
await step("organizations.getOrganizationInvitationList", async () =>
  page(
    await clerk.organizations.getOrganizationInvitationList({ organizationId: acmeId }),
    orgInvitation,
  ),
);
await step("organizations.revokeOrganizationInvitation", async () =>
  orgInvitation(
    await clerk.organizations.revokeOrganizationInvitation({
      organizationId: acmeId,
      invitationId: orgInvited?.id ?? "orginv_missing",
      requestingUserId: adaId,
    }),
  ),
);

// --- the ends of the lifecycles -----------------------------------------------------------
await step("organizations.deleteOrganization", async () => {
  const deleted = await clerk.organizations.deleteOrganization(acmeId);
  return { id: deleted.id, deleted: deleted.deleted ?? null };
});
await step("organizations.getOrganization(deleted)", async () =>
  org(await clerk.organizations.getOrganization({ organizationId: acmeId })),
);
await step("users.deleteUser", async () => {
  const deleted = await clerk.users.deleteUser(adaId);
  return { id: deleted.id, deleted: deleted.deleted ?? null };
});
await step("users.getUser(deleted)", async () => user(await clerk.users.getUser(adaId)));
