import { redirect } from '@sveltejs/kit';

import { routeForNamespaces } from '@temporalio/ui/utilities/route-for';

export const load = () => {
  redirect(302, routeForNamespaces());
};
