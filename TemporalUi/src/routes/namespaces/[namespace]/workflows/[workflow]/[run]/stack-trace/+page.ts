import { redirect } from '@sveltejs/kit';

import { routeForCallStack } from '@temporalio/ui/utilities/route-for';

export const load = ({ params }) => {
  redirect(302, routeForCallStack({ namespace: params.namespace, workflow: params.workflow, run: params.run }));
};
