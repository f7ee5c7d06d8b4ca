"""Days in the village, marked days, 报备 and leave along the county's chain. Imports `common`,
`people`, `org`.

`days` computes what each day was (located records in the geofence, marks, leave); `monthly`
sets a month against the county's threshold; `leave` carries requests along the approval chain;
`settings` reads the chain from the admin's form.
"""
